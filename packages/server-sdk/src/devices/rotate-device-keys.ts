import {
  type Clock,
  type PublicKeys,
  type ReplayGuard,
  type RotateKeysRequest,
  verifyKeyRotationRequest,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';

/** What {@link rotateDeviceKeys} needs. */
export interface RotateDeviceKeysDeps {
  readonly db: Kysely<FieldlineDatabase>;
  readonly clock: Clock;
  /** Shared by every instance, so a rotation request is used once across the cluster. */
  readonly replayGuard: ReplayGuard;
  /**
   * Largest accepted difference between the request's `ts` and the server clock.
   * @default 60_000
   */
  readonly maxSkewMs?: number;
}

/** The device's keys after a rotation. */
export interface RotatedKeys {
  readonly deviceId: string;
  readonly tenantId: string;
  readonly publicKeys: PublicKeys;
  readonly rotatedAt: Date;
  /** False for a retry of a rotation already applied. */
  readonly changed: boolean;
}

/**
 * Replaces a device's public keys (docs/protocol.md §5.3): the request must be signed by the
 * key on record (possession of the old key) and by the new one, fresh and used once. In one
 * audited transaction (`device.keys_rotated`) the keys change, any required rotation is
 * cleared and the device's real-time sessions end (they were bound to the old keys). A retry
 * of a rotation already applied answers the same keys, so an agent that lost the answer can
 * finish its own switch.
 *
 * @param device - the authenticated device and its keys on record.
 * @param request - a schema-valid body.
 * @param deps - database, clock, replay guard.
 * @returns the keys now on record.
 * @throws {@link HttpError} `invalid_request` (another device's id, same keys), `stale_request`
 *   as `invalid_request` (clock skew), `bad_signature`, `replayed`, `conflict` (the keys changed
 *   meanwhile).
 */
export async function rotateDeviceKeys(
  device: { readonly id: string; readonly tenantId: string; readonly keys: PublicKeys },
  request: RotateKeysRequest,
  deps: RotateDeviceKeysDeps,
): Promise<RotatedKeys> {
  const nowMs = deps.clock.now();
  if (request.deviceId !== device.id) {
    throw new HttpError('invalid_request', 'deviceId must be the id of the authenticated device.');
  }
  const maxSkewMs = deps.maxSkewMs ?? 60_000;
  if (Math.abs(nowMs - request.ts) > maxSkewMs) {
    throw new HttpError(
      'invalid_request',
      `ts is more than ${maxSkewMs} ms from the server clock; fix the device clock and sign again.`,
    );
  }
  const sameKeys =
    request.newPublicKeys.signingPublicKey === device.keys.signingPublicKey &&
    request.newPublicKeys.encryptionPublicKey === device.keys.encryptionPublicKey;
  if (sameKeys) {
    // A retry after the rotation was applied: the new key's signature is the proof left.
    if (!verifyKeyRotationRequest(request, undefined)) {
      throw new HttpError('bad_signature', 'The new key does not sign this request.');
    }
    const row = await deps.db
      .selectFrom('devices')
      .select('keys_rotated_at')
      .where('id', '=', device.id)
      .executeTakeFirstOrThrow();
    return {
      deviceId: device.id,
      tenantId: device.tenantId,
      publicKeys: device.keys,
      rotatedAt: row.keys_rotated_at ?? new Date(nowMs),
      changed: false,
    };
  }
  if (
    request.newPublicKeys.signingPublicKey === device.keys.signingPublicKey ||
    request.newPublicKeys.encryptionPublicKey === device.keys.encryptionPublicKey
  ) {
    throw new HttpError('invalid_request', 'Both new keys must differ from the current ones.');
  }
  if (!verifyKeyRotationRequest(request, device.keys)) {
    throw new HttpError(
      'bad_signature',
      'Sign the rotation with the current key and with the new key (docs/protocol.md §5.3).',
    );
  }
  const fresh = await deps.replayGuard.checkAndRemember(
    `rotate:${device.id}:${request.nonce}`,
    request.ts,
  );
  if (!fresh) throw new HttpError('replayed', 'This rotation nonce was already used; sign anew.');
  const rotatedAt = new Date(nowMs);
  const applied = await deps.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('devices')
      .set({
        signing_public_key: request.newPublicKeys.signingPublicKey,
        encryption_public_key: request.newPublicKeys.encryptionPublicKey,
        keys_rotated_at: rotatedAt,
        rotation_required_at: null,
      })
      .where('id', '=', device.id)
      .where('signing_public_key', '=', device.keys.signingPublicKey)
      .where('status', '=', 'active')
      .returning(['rotation_required_at'])
      .executeTakeFirst();
    if (updated === undefined) return false;
    await trx.deleteFrom('sessions').where('device_id', '=', device.id).execute();
    await appendAudit(
      trx,
      {
        tenantId: device.tenantId,
        actor: `device:${device.id}`,
        action: 'device.keys_rotated',
        subject: `device:${device.id}`,
        details: {
          previousSigningPublicKey: device.keys.signingPublicKey,
          signingPublicKey: request.newPublicKeys.signingPublicKey,
        },
      },
      { clock: deps.clock },
    );
    return true;
  });
  if (!applied) {
    throw new HttpError('conflict', "The device's keys changed meanwhile; load them and retry.");
  }
  return {
    deviceId: device.id,
    tenantId: device.tenantId,
    publicKeys: request.newPublicKeys,
    rotatedAt,
    changed: true,
  };
}
