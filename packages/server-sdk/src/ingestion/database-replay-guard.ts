import { type Clock, InvalidArgumentError, type ReplayGuard, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** Options of {@link createDatabaseReplayGuard}. */
export interface DatabaseReplayGuardOptions {
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * How long after its timestamp a message id is remembered; at least the opener's
   * `maxSkewMs`, since older frames are refused before they reach the guard.
   * @default 60_000
   */
  readonly windowMs?: number;
  /**
   * Least time between two deletions of expired rows by this instance.
   * @default windowMs
   */
  readonly sweepIntervalMs?: number;
}

/**
 * Creates a {@link ReplayGuard} on the `seen_messages` table, so every server instance shares
 * one memory of accepted message ids. A new id is an insert; a conflict on the primary key
 * means the id was seen, so the check is atomic across instances without locks. Expired rows
 * are deleted now and then (at most once per `sweepIntervalMs` per instance); a failed sweep is
 * ignored and retried later, since expired rows only cost space.
 *
 * @param db - the Fieldline database.
 * @param options - clock, window and sweep interval.
 * @returns the guard; pass it to `openJson` or the open-batch step.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when `windowMs` or
 *   `sweepIntervalMs` is not positive.
 * @example
 * ```ts
 * const replayGuard = createDatabaseReplayGuard(db, { windowMs: 60_000 });
 * ```
 */
export function createDatabaseReplayGuard(
  db: Kysely<FieldlineDatabase>,
  options: DatabaseReplayGuardOptions = {},
): ReplayGuard {
  const clock = options.clock ?? systemClock;
  const windowMs = options.windowMs ?? 60_000;
  const sweepIntervalMs = options.sweepIntervalMs ?? windowMs;
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new InvalidArgumentError('windowMs must be a positive integer.', { windowMs });
  }
  if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) {
    throw new InvalidArgumentError('sweepIntervalMs must be positive.', { sweepIntervalMs });
  }
  let lastSweepMs = Number.NEGATIVE_INFINITY;

  async function sweep(nowMs: number): Promise<void> {
    lastSweepMs = nowMs;
    try {
      await db.deleteFrom('seen_messages').where('expires_at', '<', new Date(nowMs)).execute();
    } catch {
      // Expired rows only take space; the next sweep retries.
    }
  }

  return {
    async checkAndRemember(messageId, timestampMs) {
      const nowMs = clock.now();
      if (timestampMs < nowMs - windowMs) return false;
      if (nowMs - lastSweepMs >= sweepIntervalMs) await sweep(nowMs);
      const inserted = await db
        .insertInto('seen_messages')
        .values({ message_id: messageId, expires_at: new Date(timestampMs + windowMs) })
        .onConflict((conflict) => conflict.column('message_id').doNothing())
        .returning('message_id')
        .executeTakeFirst();
      return inserted !== undefined;
    },
  };
}
