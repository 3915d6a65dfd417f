import { randomBytes } from 'node:crypto';
import {
  type Clock,
  type ConsentSnapshot,
  type EnrollRequest,
  type EnrollResponse,
  type Identity,
  publicKeysOf,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import { generateSecretToken, hashSecretToken } from '../auth/secret-tokens.js';
import { resolveDeviceConfig } from '../config/config-service.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { installTokenRefusal } from './check-install-token.js';

/** What enrollment needs besides the request. */
export interface EnrollDeviceOptions {
  readonly clock: Clock;
  /** The server's identity; its public keys are returned for the agent to pin. */
  readonly serverIdentity: Identity;
  /**
   * The device's consent state right after enrollment (the consent service
   * records it); defaults to pending on the tenant's latest policy, or unknown.
   */
  readonly initialConsent?: (
    trx: Kysely<FieldlineDatabase>,
    device: { readonly id: string; readonly tenantId: string },
  ) => Promise<ConsentSnapshot>;
}

/**
 * Enrolls a device with a one-time install token. The token is claimed with a
 * single conditional update (unused and unexpired), so two concurrent
 * enrollments with one token yield one device; the loser gets
 * `install_token_used`. The enrollment is audited (`device.enrolled`, by the
 * install token's id, with the device's metadata and signing key) in the same
 * transaction.
 *
 * @param db - the database.
 * @param installToken - the bearer install token.
 * @param request - the device's metadata and public keys (validated).
 * @param options - clock, server identity, initial consent.
 * @returns the device id and token (shown once), the server's keys, config and consent.
 * @throws {@link HttpError} `install_token_invalid`, `install_token_used`, `install_token_revoked`
 *   or `install_token_expired` (401).
 */
export async function enrollDevice(
  db: Kysely<FieldlineDatabase>,
  installToken: string,
  request: EnrollRequest,
  options: EnrollDeviceOptions,
): Promise<EnrollResponse> {
  const now = new Date(options.clock.now());
  const tokenHash = hashSecretToken(installToken);
  const deviceId = `dev_${randomBytes(12).toString('base64url')}`;
  const deviceToken = generateSecretToken('fl_device');

  const enrolled = await db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('install_tokens')
      .set({ used_at: now, used_by_device_id: deviceId })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['tenant_id', 'id'])
      .executeTakeFirst();
    if (claimed === undefined) return undefined;
    await trx
      .insertInto('devices')
      .values({
        id: deviceId,
        tenant_id: claimed.tenant_id,
        hostname: request.hostname,
        os: request.os,
        arch: request.arch,
        agent_version: request.agentVersion ?? null,
        signing_public_key: request.publicKeys.signingPublicKey,
        encryption_public_key: request.publicKeys.encryptionPublicKey,
        drops: '{}',
      })
      .execute();
    await trx
      .insertInto('device_tokens')
      .values({
        id: `dtk_${randomBytes(9).toString('base64url')}`,
        device_id: deviceId,
        token_hash: hashSecretToken(deviceToken),
      })
      .execute();
    const consent =
      (await options.initialConsent?.(trx, { id: deviceId, tenantId: claimed.tenant_id })) ??
      (await defaultConsent(trx, claimed.tenant_id));
    await appendAudit(
      trx,
      {
        tenantId: claimed.tenant_id,
        actor: `install_token:${claimed.id}`,
        action: 'device.enrolled',
        subject: `device:${deviceId}`,
        details: {
          hostname: request.hostname,
          os: request.os,
          arch: request.arch,
          signingPublicKey: request.publicKeys.signingPublicKey,
        },
      },
      { clock: options.clock },
    );
    return { tenantId: claimed.tenant_id, consent };
  });

  if (enrolled === undefined) {
    // The claim refused the token: say why. Its row cannot turn usable again, so a refusal is
    // always found; the fallback only keeps the function total.
    throw (
      (await installTokenRefusal(db, tokenHash, now)) ??
      new HttpError('install_token_used', 'The install token was already used; ask for a new one.')
    );
  }
  const { config } = await resolveDeviceConfig(db, enrolled.tenantId, deviceId);
  return {
    deviceId,
    tenant: enrolled.tenantId,
    deviceToken,
    serverPublicKeys: publicKeysOf(options.serverIdentity),
    config,
    consent: enrolled.consent,
  };
}

async function defaultConsent(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
): Promise<ConsentSnapshot> {
  const policy = await db
    .selectFrom('policies')
    .select('version')
    .where('tenant_id', '=', tenantId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return policy === undefined
    ? { status: 'unknown' }
    : { status: 'pending', policyVersion: policy.version };
}
