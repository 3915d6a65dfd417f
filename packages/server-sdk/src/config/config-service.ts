import { createHash } from 'node:crypto';
import { canonicalJson, type DeviceConfig, deviceConfigSchema } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { DEFAULT_DEVICE_CONFIG } from './default-device-config.js';

/** A device's effective config and its entity tag. */
export interface ResolvedConfig {
  readonly config: DeviceConfig;
  /** Strong ETag: a quoted SHA-256 prefix of the canonical JSON. */
  readonly etag: string;
}

/**
 * Resolves a device's config: the default, overlaid by the tenant's config,
 * overlaid by the device's own (shallow per top-level key), with the tenant's
 * latest policy version.
 *
 * @param db - the database.
 * @param tenantId - the device's tenant.
 * @param deviceId - the device.
 * @returns the config and its ETag.
 */
export async function resolveDeviceConfig(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
  deviceId: string,
): Promise<ResolvedConfig> {
  const [rows, policy] = await Promise.all([
    db
      .selectFrom('configs')
      .select(['device_id', 'config'])
      .where('tenant_id', '=', tenantId)
      .where('device_id', 'in', ['', deviceId])
      .execute(),
    db
      .selectFrom('policies')
      .select('version')
      .where('tenant_id', '=', tenantId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);
  const tenantConfig = rows.find((row) => row.device_id === '')?.config ?? {};
  const deviceConfig = rows.find((row) => row.device_id === deviceId)?.config ?? {};
  const config: DeviceConfig = {
    ...DEFAULT_DEVICE_CONFIG,
    ...tenantConfig,
    ...deviceConfig,
    policyVersion: policy?.version ?? null,
  } as DeviceConfig;
  const etag = `"${createHash('sha256').update(canonicalJson(config)).digest('base64url').slice(0, 27)}"`;
  return { config, etag };
}

/**
 * Stores the config of a tenant (`deviceId` omitted) or of one device. The
 * result must still be a valid device config once overlaid on the default.
 *
 * @param db - the database.
 * @param scope - the tenant, and optionally the device.
 * @param config - the keys to set.
 * @throws {@link HttpError} `invalid_request` when the merged config is invalid.
 */
export async function setConfig(
  db: Kysely<FieldlineDatabase>,
  scope: { readonly tenantId: string; readonly deviceId?: string },
  config: Partial<DeviceConfig>,
): Promise<void> {
  const merged = deviceConfigSchema.safeParse({ ...DEFAULT_DEVICE_CONFIG, ...config });
  if (!merged.success) {
    throw new HttpError('invalid_request', 'The config is invalid.', {
      details: {
        issues: merged.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    });
  }
  const value = JSON.stringify(config);
  await db
    .insertInto('configs')
    .values({
      tenant_id: scope.tenantId,
      device_id: scope.deviceId ?? '',
      config: value,
      updated_at: new Date(),
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'device_id']).doUpdateSet({ config: value, updated_at: new Date() }),
    )
    .execute();
}
