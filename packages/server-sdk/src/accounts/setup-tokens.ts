import { randomUUID } from 'node:crypto';
import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { generateSecretToken, hashSecretToken } from '../auth/secret-tokens.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { countUsers } from './user-store.js';

/** Options of {@link issueSetupToken}. */
export interface IssueSetupTokenOptions {
  readonly clock: Clock;
  /**
   * How long the token can be used, in milliseconds.
   * @default 86_400_000 (24 h)
   */
  readonly ttlMs?: number;
}

/**
 * Issues a one-time token that creates the first owner (`POST /v1/auth/setup`), but only while
 * no account exists. Only its SHA-256 is stored. Every unexpired token works until the first
 * account exists (several instances starting at once each print one), then none does.
 *
 * @param db - the database.
 * @param options - clock and lifetime.
 * @returns the token and its expiry, or undefined when accounts exist already.
 * @example
 * ```ts
 * const setup = await issueSetupToken(db, { clock });
 * if (setup) console.log(`${url}/console/setup#token=${setup.token}`);
 * ```
 */
export async function issueSetupToken(
  db: Kysely<FieldlineDatabase>,
  options: IssueSetupTokenOptions,
): Promise<{ readonly token: string; readonly expiresAt: string } | undefined> {
  if ((await countUsers(db)) > 0) return undefined;
  const now = options.clock.now();
  const token = generateSecretToken('fl_setup');
  const expiresAt = new Date(now + (options.ttlMs ?? 24 * 3600 * 1000));
  await db
    .insertInto('setup_tokens')
    .values({
      id: `stk_${randomUUID()}`,
      token_hash: hashSecretToken(token),
      created_at: new Date(now),
      expires_at: expiresAt,
    })
    .execute();
  return { token, expiresAt: expiresAt.toISOString() };
}

/**
 * Uses up a setup token, atomically: of concurrent claims of one token, one wins.
 *
 * @param db - the caller's transaction (the owner is created in it).
 * @param token - the token.
 * @param nowMs - the time.
 * @returns the token's id, or undefined when it is unknown, used or expired.
 * @internal
 */
export async function claimSetupToken(
  db: Kysely<FieldlineDatabase>,
  token: string,
  nowMs: number,
): Promise<string | undefined> {
  const claimed = await db
    .updateTable('setup_tokens')
    .set({ used_at: new Date(nowMs) })
    .where('token_hash', '=', hashSecretToken(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date(nowMs))
    .returning('id')
    .executeTakeFirst();
  return claimed?.id;
}

/**
 * Records which account a setup token made.
 *
 * @internal
 */
export async function markSetupTokenUser(
  db: Kysely<FieldlineDatabase>,
  id: string,
  userId: string,
): Promise<void> {
  await db
    .updateTable('setup_tokens')
    .set({ used_by_user_id: userId })
    .where('id', '=', id)
    .execute();
}
