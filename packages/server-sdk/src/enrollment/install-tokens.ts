import { randomUUID } from 'node:crypto';
import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
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
  /**
   * Who issued it, for the audit row `install_token.issued` written in the same transaction.
   * @default 'system'
   */
  readonly actor?: string;
}

/**
 * Creates a one-time install token. Only its SHA-256 is stored; the token is
 * returned once and cannot be shown again. The issue is audited
 * (`install_token.issued`, with the token's id and expiry, never the token) in
 * the same transaction.
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
    await appendAudit(
      trx,
      {
        tenantId: options.tenantId,
        actor: options.actor ?? 'system',
        action: 'install_token.issued',
        subject: `install_token:${id}`,
        details: { expiresAt: expiresAt.toISOString() },
      },
      { clock: options.clock },
    );
  });
  return { id, token, expiresAt: expiresAt.toISOString() };
}
