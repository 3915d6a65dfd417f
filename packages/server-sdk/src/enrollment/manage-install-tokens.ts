import type { Clock } from '@fieldline/core';
import type { Kysely, Selectable } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { FieldlineDatabase, InstallTokensTable } from '../db/database-schema.js';

/** An install token as the admin API lists it; the token itself is never kept. */
export interface InstallTokenSummary {
  readonly id: string;
  readonly tenant: string;
  readonly state: 'unused' | 'used' | 'expired' | 'revoked';
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly usedAt: string | null;
  readonly usedByDeviceId: string | null;
  readonly revokedAt: string | null;
}

function summarize(row: Selectable<InstallTokensTable>, nowMs: number): InstallTokenSummary {
  const state =
    row.revoked_at !== null
      ? 'revoked'
      : row.used_at !== null
        ? 'used'
        : row.expires_at.getTime() <= nowMs
          ? 'expired'
          : 'unused';
  return {
    id: row.id,
    tenant: row.tenant_id,
    state,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    usedAt: row.used_at?.toISOString() ?? null,
    usedByDeviceId: row.used_by_device_id,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

/**
 * Lists install tokens, newest first (at most 1000).
 *
 * @param db - the database.
 * @param tenantId - one tenant's, or `null` for all (operator).
 * @param nowMs - now, to tell expired tokens.
 * @returns the summaries.
 */
export async function listInstallTokens(
  db: Kysely<FieldlineDatabase>,
  tenantId: string | null,
  nowMs: number,
): Promise<InstallTokenSummary[]> {
  let query = db.selectFrom('install_tokens').selectAll().orderBy('created_at', 'desc').limit(1000);
  if (tenantId !== null) query = query.where('tenant_id', '=', tenantId);
  return (await query.execute()).map((row) => summarize(row, nowMs));
}

/**
 * Reads one install token.
 *
 * @param db - the database.
 * @param id - the token's id.
 * @param nowMs - now.
 * @returns the summary, or undefined.
 */
export async function getInstallToken(
  db: Kysely<FieldlineDatabase>,
  id: string,
  nowMs: number,
): Promise<InstallTokenSummary | undefined> {
  const row = await db
    .selectFrom('install_tokens')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : summarize(row, nowMs);
}

/**
 * Revokes an unused install token in one audited transaction (`install_token.revoke`), so it
 * can no longer enroll. Idempotent; a token already used keeps its device (revoke the device
 * for that) and is marked revoked all the same.
 *
 * @param db - the database.
 * @param id - the token's id.
 * @param options - who revokes, and the clock.
 * @returns the token afterwards and whether anything changed, or undefined when unknown.
 */
export function revokeInstallToken(
  db: Kysely<FieldlineDatabase>,
  id: string,
  options: { readonly actor: string; readonly clock: Clock },
): Promise<{ readonly token: InstallTokenSummary; readonly changed: boolean } | undefined> {
  const nowMs = options.clock.now();
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('install_tokens')
      .set({ revoked_at: new Date(nowMs) })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (updated !== undefined) {
      await appendAudit(
        trx,
        {
          tenantId: updated.tenant_id,
          actor: options.actor,
          action: 'install_token.revoke',
          subject: `install_token:${id}`,
          details: { wasUsed: updated.used_at !== null },
        },
        { clock: options.clock },
      );
      return { token: summarize(updated, nowMs), changed: true };
    }
    const token = await getInstallToken(trx, id, nowMs);
    return token === undefined ? undefined : { token, changed: false };
  });
}
