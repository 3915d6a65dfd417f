import { randomUUID } from 'node:crypto';
import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { generateSecretToken, hashSecretToken } from '../auth/secret-tokens.js';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** Options of {@link createInstallToken}. */
export interface CreateInstallTokenOptions {
  /** The tenant devices enrolled with the token join (created if new). */
  readonly tenantId: string;
  /**
   * How long the token can be used.
   * @default 86_400 (24 h)
   */
  readonly ttlSeconds?: number;
  /** Time source. */
  readonly clock: Clock;
}

/**
 * Creates a one-time install token. Only its SHA-256 is stored; the token is
 * returned once and cannot be shown again.
 *
 * @param db - the database.
 * @param options - tenant, lifetime and clock.
 * @returns the token's id, the token and its expiry.
 * @example
 * ```ts
 * const { token } = await createInstallToken(db, { tenantId: 'acme', clock: systemClock });
 * ```
 */
export async function createInstallToken(
  db: Kysely<FieldlineDatabase>,
  options: CreateInstallTokenOptions,
): Promise<{ readonly id: string; readonly token: string; readonly expiresAt: string }> {
  const token = generateSecretToken('fl_install');
  const id = `itk_${randomUUID()}`;
  const expiresAt = new Date(options.clock.now() + (options.ttlSeconds ?? 86_400) * 1000);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('tenants')
      .values({ id: options.tenantId })
      .onConflict((oc) => oc.doNothing())
      .execute();
    await trx
      .insertInto('install_tokens')
      .values({
        id,
        tenant_id: options.tenantId,
        token_hash: hashSecretToken(token),
        expires_at: expiresAt,
      })
      .execute();
  });
  return { id, token, expiresAt: expiresAt.toISOString() };
}
