import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * Knows up to which outbox seq the outbox is final, so a reader never steps over a hole that a
 * transaction still in flight will fill.
 *
 * The rule: a seq is taken (by the identity default) inside an `insert into outbox`, which holds
 * a ROW EXCLUSIVE lock on `outbox` until its transaction ends. So after reading the highest
 * visible seq H, every transaction that took a seq below H either has ended already or holds
 * that lock now. Once each lock holder seen then has ended, every seq ≤ H is final: committed,
 * or never to exist (rolled back, or skipped by the sequence after a crash). A reader may
 * deliver a row when it follows its position without a hole, or when its seq is final.
 * Checking the holders reads `pg_locks` and blocks no writer.
 *
 * @internal
 */
export interface OutboxHorizon {
  /** Every outbox seq up to this one is final. Only grows. */
  readonly finalSeq: number;
  /**
   * Called by a reader stopped at a hole: starts, or checks, the wait for the writers in
   * flight. Resolves to whether `finalSeq` grew.
   */
  advance(): Promise<boolean>;
}

// Transactions (virtual ids) holding the lock an outbox insert takes, other than this session.
async function outboxWriters(db: Kysely<FieldlineDatabase>): Promise<Set<string>> {
  const { rows } = await sql<{ vxid: string }>`
    select virtualtransaction as vxid from pg_locks
    where locktype = 'relation' and relation = to_regclass('outbox')
      and mode = 'RowExclusiveLock' and pid is distinct from pg_backend_pid()`.execute(db);
  return new Set(rows.map((row) => row.vxid));
}

/**
 * Creates the horizon of one stream (all its consumers share it: finality is a fact about the
 * outbox, not about a consumer).
 *
 * @internal
 */
export function createOutboxHorizon(db: Kysely<FieldlineDatabase>): OutboxHorizon {
  let finalSeq = 0;
  let waiting: { readonly horizon: number; readonly writers: ReadonlySet<string> } | undefined;
  const settle = (horizon: number): boolean => {
    waiting = undefined;
    if (horizon <= finalSeq) return false;
    finalSeq = horizon;
    return true;
  };
  return {
    get finalSeq() {
      return finalSeq;
    },
    async advance() {
      if (waiting !== undefined) {
        const { horizon, writers } = waiting;
        const now = await outboxWriters(db);
        for (const writer of writers) if (now.has(writer)) return false;
        return settle(horizon);
      }
      // The highest seq first, the lock holders second: the order the rule above relies on.
      const top = await db
        .selectFrom('outbox')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      const horizon = Number(top?.seq ?? 0);
      const writers = await outboxWriters(db);
      if (writers.size === 0) return settle(horizon);
      waiting = { horizon, writers };
      return false;
    },
  };
}
