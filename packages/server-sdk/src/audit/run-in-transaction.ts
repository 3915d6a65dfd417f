import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * Runs `fn` inside a transaction: the caller's, when `db` already is one, so
 * the work commits or rolls back with the caller's change; otherwise a new one.
 *
 * @param db - a Kysely instance or a transaction.
 * @param fn - the work; it receives the transaction.
 * @returns what `fn` returns, after the commit when the transaction is ours.
 * @throws whatever `fn` throws; a transaction opened here is rolled back first.
 * @example
 * ```ts
 * await runInTransaction(db, async (trx) => { await appendAudit(trx, entry); });
 * ```
 * @internal
 */
export function runInTransaction<T>(
  db: Kysely<FieldlineDatabase>,
  fn: (trx: Kysely<FieldlineDatabase>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
