import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { deviceRefusal } from '../devices/device-standing.js';
import { HttpError } from '../http/http-error.js';
import type { FieldlineRequest } from '../http/types.js';
import { bearerToken, hashSecretToken } from './secret-tokens.js';

/** The device a request was authenticated as. */
export interface AuthenticatedDevice {
  readonly id: string;
  readonly tenantId: string;
  readonly signingPublicKey: string;
  readonly encryptionPublicKey: string;
}

/**
 * Authenticates a device request by its bearer token (looked up by SHA-256
 * hash; the token itself is never stored).
 *
 * @param db - the database.
 * @param request - the request.
 * @param options - `rotating`: the request is `POST /v1/keys/rotate`, which a required key
 *   rotation lets through.
 * @returns the device.
 * @throws {@link HttpError} `unauthenticated`, `invalid_token` (unknown or revoked token),
 * `device_revoked`, `device_quarantined` or `key_rotation_required`.
 */
export async function authenticateDevice(
  db: Kysely<FieldlineDatabase>,
  request: FieldlineRequest,
  options: { readonly rotating?: boolean } = {},
): Promise<AuthenticatedDevice> {
  const token = bearerToken(request.header('authorization'));
  if (token === undefined) {
    throw new HttpError(
      'unauthenticated',
      'Send the device token as "Authorization: Bearer <token>".',
    );
  }
  const row = await db
    .selectFrom('device_tokens')
    .innerJoin('devices', 'devices.id', 'device_tokens.device_id')
    .select([
      'devices.id',
      'devices.tenant_id',
      'devices.status',
      'devices.quarantined_at',
      'devices.rotation_required_at',
      'devices.signing_public_key',
      'devices.encryption_public_key',
      'device_tokens.revoked_at',
    ])
    .where('device_tokens.token_hash', '=', hashSecretToken(token))
    .executeTakeFirst();
  if (row === undefined) {
    throw new HttpError('invalid_token', 'The device token is not valid; enroll again.');
  }
  // Before the token's own revocation: revoking a device revokes its tokens too, and the
  // agent must hear `device_revoked` (stop for good), not `invalid_token` (enroll again).
  const refusal = deviceRefusal(row, options);
  if (refusal !== undefined) throw new HttpError(refusal.code, refusal.message);
  if (row.revoked_at !== null) {
    throw new HttpError('invalid_token', 'The device token is not valid; enroll again.');
  }
  return {
    id: row.id,
    tenantId: row.tenant_id,
    signingPublicKey: row.signing_public_key,
    encryptionPublicKey: row.encryption_public_key,
  };
}
