import type { Kysely } from 'kysely';
import { hashSecretToken } from '../auth/secret-tokens.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';

/**
 * Why an install token cannot enroll a device at `now`, read from its row:
 * unknown, revoked, used or expired, in that order.
 *
 * @param db - the database.
 * @param tokenHash - the token's SHA-256 hash, as stored.
 * @param now - the time the expiry is compared with.
 * @returns the 401 to answer, or undefined when the token can enroll.
 * @internal
 */
export async function installTokenRefusal(
  db: Kysely<FieldlineDatabase>,
  tokenHash: string,
  now: Date,
): Promise<HttpError | undefined> {
  const token = await db
    .selectFrom('install_tokens')
    .select(['used_at', 'expires_at', 'revoked_at'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (token === undefined) {
    return new HttpError('install_token_invalid', 'The install token is not known.');
  }
  if (token.revoked_at !== null) {
    return new HttpError(
      'install_token_revoked',
      'The install token was revoked by an admin; ask for a new one.',
    );
  }
  if (token.used_at !== null) {
    return new HttpError(
      'install_token_used',
      'The install token was already used; ask for a new one.',
    );
  }
  if (new Date(token.expires_at).getTime() <= now.getTime()) {
    return new HttpError('install_token_expired', 'The install token expired; ask for a new one.');
  }
  return undefined;
}

/**
 * Refuses an install token that cannot enroll anything, before the request
 * body is read: an unauthenticated caller gets its 401 without the server
 * parsing (or validating) what it sent. It only reads; {@link enrollDevice}'s
 * claim stays the authority, so a token used by a concurrent enrollment
 * between this check and the claim is still refused there.
 *
 * @param db - the database.
 * @param installToken - the bearer install token.
 * @param now - the time the token's expiry is compared with.
 * @throws {@link HttpError} `install_token_invalid`, `install_token_revoked`,
 *   `install_token_used` or `install_token_expired` (401).
 * @example
 * ```ts
 * await checkInstallToken(db, token, new Date(clock.now()));
 * const body = readJsonBody(request, enrollRequestSchema);
 * ```
 */
export async function checkInstallToken(
  db: Kysely<FieldlineDatabase>,
  installToken: string,
  now: Date,
): Promise<void> {
  const refusal = await installTokenRefusal(db, hashSecretToken(installToken), now);
  if (refusal !== undefined) throw refusal;
}
