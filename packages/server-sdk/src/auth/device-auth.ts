import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
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
 * @returns the device.
 * @throws {@link HttpError} `unauthenticated`, `invalid_token` (unknown or revoked token) or
 * `device_revoked`.
 */
export async function authenticateDevice(
  db: Kysely<FieldlineDatabase>,
  request: FieldlineRequest,
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
      'devices.signing_public_key',
      'devices.encryption_public_key',
      'device_tokens.revoked_at',
    ])
    .where('device_tokens.token_hash', '=', hashSecretToken(token))
    .executeTakeFirst();
  if (row === undefined || row.revoked_at !== null) {
    throw new HttpError('invalid_token', 'The device token is not valid; enroll again.');
  }
  if (row.status === 'revoked') {
    throw new HttpError(
      'device_revoked',
      'This device was revoked; stop sending and keep local data.',
    );
  }
  return {
    id: row.id,
    tenantId: row.tenant_id,
    signingPublicKey: row.signing_public_key,
    encryptionPublicKey: row.encryption_public_key,
  };
}
