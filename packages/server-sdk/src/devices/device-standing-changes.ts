import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** Where a device stands after {@link requireKeyRotation} or {@link releaseDevice}. */
export interface DeviceStandingResult {
  readonly id: string;
  readonly tenantId: string;
  readonly keyRotationRequired: boolean;
  readonly quarantinedAt: Date | null;
  /** False when nothing changed (nothing was audited). */
  readonly changed: boolean;
}

/** Who acts and when, for the audit log. */
export interface StandingChangeOptions {
  readonly actor: string;
  readonly clock: Clock;
}

async function standing(
  trx: Kysely<FieldlineDatabase>,
  deviceId: string,
  changed: boolean,
): Promise<DeviceStandingResult | undefined> {
  const row = await trx
    .selectFrom('devices')
    .select(['tenant_id', 'rotation_required_at', 'quarantined_at'])
    .where('id', '=', deviceId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    id: deviceId,
    tenantId: row.tenant_id,
    keyRotationRequired: row.rotation_required_at !== null,
    quarantinedAt: row.quarantined_at,
    changed,
  };
}

/**
 * Marks a device as having to rotate its keys: until it does (`POST /v1/keys/rotate`), every
 * other request answers 403 `key_rotation_required` and its hellos close with 4426. Audited
 * as `device.rotation_required`; idempotent.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @param options - actor and clock.
 * @returns the device's standing, or undefined when no device has this id.
 */
export function requireKeyRotation(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  options: StandingChangeOptions,
): Promise<DeviceStandingResult | undefined> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('devices')
      .set({ rotation_required_at: new Date(options.clock.now()) })
      .where('id', '=', deviceId)
      .where('status', '=', 'active')
      .where('rotation_required_at', 'is', null)
      .returning(['tenant_id'])
      .executeTakeFirst();
    if (updated !== undefined) {
      await appendAudit(
        trx,
        {
          tenantId: updated.tenant_id,
          actor: options.actor,
          action: 'device.rotation_required',
          subject: `device:${deviceId}`,
          details: {},
        },
        { clock: options.clock },
      );
    }
    return standing(trx, deviceId, updated !== undefined);
  });
}

/**
 * Releases a device from clone quarantine and resets its takeover count. Audited as
 * `device.release`; idempotent. Releasing does not change the keys: when both holders still
 * have them, force a rotation first ({@link requireKeyRotation}) so only the first to rotate
 * keeps the device.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @param options - actor and clock.
 * @returns the device's standing, or undefined when no device has this id.
 */
export function releaseDevice(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  options: StandingChangeOptions,
): Promise<DeviceStandingResult | undefined> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('devices')
      .set({ quarantined_at: null, takeovers: 0, takeovers_since: null })
      .where('id', '=', deviceId)
      .where('quarantined_at', 'is not', null)
      .returning(['tenant_id'])
      .executeTakeFirst();
    if (updated !== undefined) {
      await appendAudit(
        trx,
        {
          tenantId: updated.tenant_id,
          actor: options.actor,
          action: 'device.release',
          subject: `device:${deviceId}`,
          details: {},
        },
        { clock: options.clock },
      );
    }
    return standing(trx, deviceId, updated !== undefined);
  });
}
