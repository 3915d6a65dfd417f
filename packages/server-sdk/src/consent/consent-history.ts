import {
  type ConsentState,
  canCollect,
  consentStateSchema,
  UNKNOWN_CONSENT_STATE,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** A device's consent over time, loaded once and answered in memory. */
export interface DeviceConsentHistory {
  /**
   * The state in force at `atMs`: the last ledger row with `at <= atMs`;
   * `unknown` before the first row.
   *
   * @param atMs - an instant, epoch ms.
   * @returns the state then.
   */
  stateAt(atMs: number): ConsentState;
  /**
   * Whether data of `scope` could be collected at `atMs`, by core's `canCollect`
   * on the state then (`operational` always can).
   *
   * @param scope - the data's consent scope.
   * @param atMs - when the data was collected (an event's `occurredAt`), epoch ms.
   * @returns true when consent covered it.
   */
  canCollectAt(scope: string, atMs: number): boolean;
}

/**
 * Loads a device's consent ledger once (it is short: a few rows per policy
 * version) so the ingestion pipeline can check every event of a batch at its
 * own `occurredAt` with a binary search and no further query. A ledger row
 * whose stored state is malformed counts as `unknown` from its time on: the
 * check fails closed.
 *
 * @param db - the database or a transaction.
 * @param deviceId - the device.
 * @returns the history.
 * @throws the database error when the query fails.
 * @example
 * ```ts
 * const history = await consentHistory(db, device.id);
 * const allowed = events.filter((e) => history.canCollectAt(e.scope, Date.parse(e.occurredAt)));
 * ```
 */
export async function consentHistory(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
): Promise<DeviceConsentHistory> {
  const rows = await db
    .selectFrom('consent_ledger')
    .select(['seq', 'at', 'state'])
    .where('device_id', '=', deviceId)
    .orderBy('seq')
    .execute();
  // Sorted by time, ties in ledger order, so "the last row at or before t" is one binary search.
  const timeline = rows
    .map((row) => {
      const parsed = consentStateSchema.safeParse(row.state);
      return {
        atMs: row.at.getTime(),
        seq: row.seq,
        state: parsed.success ? parsed.data : UNKNOWN_CONSENT_STATE,
      };
    })
    .sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  const stateAt = (atMs: number): ConsentState => {
    let low = 0;
    let high = timeline.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((timeline[mid] as { atMs: number }).atMs <= atMs) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? UNKNOWN_CONSENT_STATE : (timeline[low - 1] as { state: ConsentState }).state;
  };
  return {
    stateAt,
    canCollectAt: (scope, atMs) => canCollect(stateAt(atMs), scope, atMs),
  };
}
