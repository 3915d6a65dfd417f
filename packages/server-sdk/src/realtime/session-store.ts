import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashSecretToken } from '../auth/secret-tokens.js';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** A session handed out in a welcome. */
export interface IssuedSession {
  /** The token, shown to the device once; only its SHA-256 is stored. */
  readonly token: string;
  readonly expiresAt: Date;
}

/**
 * Stores a new session for a device that passed its hello.
 *
 * @param db - the database.
 * @param deviceId - the authenticated device.
 * @param expiresAt - when the token stops working.
 * @returns the token and its expiry.
 */
export async function issueSession(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  expiresAt: Date,
): Promise<IssuedSession> {
  // Exactly 43 base64url characters, as the resume frame's schema expects.
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('sessions')
    .values({
      id: randomUUID(),
      device_id: deviceId,
      token_hash: hashSecretToken(token),
      expires_at: expiresAt,
    })
    .execute();
  return { token, expiresAt };
}

/**
 * Finds the unexpired session of `deviceId` with this token.
 *
 * @param db - the database.
 * @param deviceId - the device the resume claims to be.
 * @param token - the presented token.
 * @param now - the current time.
 * @returns the session's expiry, or undefined when the token is unknown, foreign or expired.
 */
export async function findSession(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  token: string,
  now: Date,
): Promise<Date | undefined> {
  const row = await db
    .selectFrom('sessions')
    .select(['expires_at'])
    .where('token_hash', '=', hashSecretToken(token))
    .where('device_id', '=', deviceId)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row?.expires_at;
}

/**
 * Deletes expired sessions (they can never be resumed).
 *
 * @param db - the database.
 * @param now - the current time.
 */
export async function deleteExpiredSessions(
  db: Kysely<FieldlineDatabase>,
  now: Date,
): Promise<void> {
  await db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
}
