import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** Work a handler leaves for the end of its batch (see `StreamDelivery.deferUntilCommit`). */
export type DeferredWork = (db: Kysely<FieldlineDatabase>) => Promise<void>;

/**
 * The deferred work of one batch: registrations of the record being handled stay pending until
 * that record is done (`keep`) or rolled back (`drop`), so a record whose handler threw leaves
 * nothing behind; `run` then does each key's work once, in key order (a stable lock order for
 * work that takes locks).
 * @internal
 */
export interface DeferredWorkQueue {
  defer(key: string, work: DeferredWork): void;
  keep(): void;
  drop(): void;
  run(db: Kysely<FieldlineDatabase>): Promise<void>;
}

/** @internal */
export function createDeferredWorkQueue(): DeferredWorkQueue {
  const kept = new Map<string, DeferredWork>();
  let pending = new Map<string, DeferredWork>();
  return {
    defer(key, work) {
      if (!kept.has(key)) pending.set(key, work);
    },
    keep() {
      for (const [key, work] of pending) kept.set(key, work);
      pending = new Map();
    },
    drop() {
      pending = new Map();
    },
    async run(db) {
      for (const key of [...kept.keys()].sort()) await (kept.get(key) as DeferredWork)(db);
      kept.clear();
    },
  };
}
