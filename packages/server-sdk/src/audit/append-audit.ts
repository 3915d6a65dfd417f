import { type Clock, canonicalJson, systemClock } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { AuditEntry, NewAuditEntry } from './audit-entry.js';
import { AUDIT_GENESIS_HASH, computeAuditHash } from './audit-hash.js';
import { runInTransaction } from './run-in-transaction.js';

/**
 * The PostgreSQL advisory lock key that serializes audit appends across every
 * connection and server instance ("FLAU" in ASCII).
 */
export const AUDIT_LOCK_KEY = 0x464c4155;

/** Options of {@link appendAudit}. */
export interface AppendAuditOptions {
  /**
   * Where the row's time comes from.
   *
   * @default systemClock
   */
  readonly clock?: Clock;
}

/**
 * Appends one row to the hash-chained audit log. Inside a transaction it takes
 * a transaction-scoped advisory lock, reads the last row's hash and inserts the
 * new row linked to it, so concurrent appends (from any instance) queue up and
 * never fork the chain. Pass the transaction that makes the change being
 * audited, and the row commits or rolls back with it; given a plain Kysely
 * instance it opens its own transaction.
 *
 * The lock is held until that transaction ends, so keep audited transactions
 * short, and run them at READ COMMITTED (PostgreSQL's default): a REPEATABLE
 * READ snapshot taken before the lock could miss the latest row. On PGlite,
 * pass the open transaction rather than the instance that owns it, whose only
 * connection the transaction holds.
 *
 * @param db - the database, or the caller's transaction.
 * @param entry - who did what to what, with details (plain JSON).
 * @param options - the clock.
 * @returns the stored row, with its `seq`, time and hashes.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} (from core) when
 *   `details` is not plain JSON data.
 * @throws the database error when the insert fails (the transaction is then rolled back).
 * @example
 * ```ts
 * await db.transaction().execute(async (trx) => {
 *   await trx.updateTable('devices').set({ status: 'revoked' }).where('id', '=', id).execute();
 *   await appendAudit(trx, { tenantId, actor: 'admin', action: 'device.revoked',
 *     subject: `device:${id}`, details: {} }, { clock });
 * });
 * ```
 */
export async function appendAudit(
  db: Kysely<FieldlineDatabase>,
  entry: NewAuditEntry,
  options: AppendAuditOptions = {},
): Promise<AuditEntry> {
  const clock = options.clock ?? systemClock;
  // Canonical text up front: a bad value fails before any lock, and the stored
  // jsonb reads back to the very data that was hashed.
  const detailsJson = canonicalJson(entry.details);
  const details = JSON.parse(detailsJson) as Record<string, unknown>;
  return runInTransaction(db, async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(AUDIT_LOCK_KEY)})`.execute(trx);
    const last = await trx
      .selectFrom('audit_log')
      .select('hash')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
    // Read under the lock, so times never go backwards along the chain on one clock.
    const at = new Date(clock.now()).toISOString();
    const hash = computeAuditHash({
      prevHash,
      at,
      tenant: entry.tenantId,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details,
    });
    const inserted = await trx
      .insertInto('audit_log')
      .values({
        at,
        tenant_id: entry.tenantId,
        actor: entry.actor,
        action: entry.action,
        subject: entry.subject,
        details: detailsJson,
        prev_hash: prevHash,
        hash,
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    return {
      seq: inserted.seq,
      at,
      tenant: entry.tenantId,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details,
      prevHash,
      hash,
    };
  });
}
