import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

// Large fleets refresh in chunks so one statement's parameter list stays small.
const CHUNK = 1_000;

/** When a device last showed a sign of life on its socket. */
export interface DeviceSeen {
  readonly deviceId: string;
  readonly at: Date;
}

// last_seen_at is also written by HTTP requests, so a socket's (older) sign of life never wins.
const notBefore = (at: Date) => sql<Date>`greatest(last_seen_at, ${at.toISOString()}::timestamptz)`;

/**
 * Persists the presence of devices connected to one instance
 * (docs/protocol.md §4.3: `connected_at`, `connected_instance`, `last_seen_at`).
 */
export interface PresenceStore {
  /** The device authenticated on this instance. */
  markConnected(deviceId: string, at: Date): Promise<void>;
  /**
   * The device's socket on this instance closed. Leaves a newer connection
   * on another instance alone.
   *
   * @param lastSeenAt - when the device last showed life on that socket (never moves
   *   `last_seen_at` back: an HTTP request may have been seen since).
   */
  markDisconnected(deviceId: string, lastSeenAt: Date): Promise<void>;
  /**
   * Refreshes `last_seen_at` of every device that showed a sign of life, to the time it last
   * did (never back).
   */
  refresh(seen: readonly DeviceSeen[]): Promise<void>;
  /** Clears every device this instance still marks as connected (shutdown). */
  releaseAll(at: Date): Promise<void>;
}

/**
 * Creates the presence store of one gateway instance.
 *
 * @param db - the database.
 * @param instanceId - the instance's name.
 * @returns the store.
 */
export function createPresenceStore(
  db: Kysely<FieldlineDatabase>,
  instanceId: string,
): PresenceStore {
  return {
    async markConnected(deviceId, at) {
      await db
        .updateTable('devices')
        .set({ connected_at: at, connected_instance: instanceId, last_seen_at: at })
        .where('id', '=', deviceId)
        .execute();
    },
    async markDisconnected(deviceId, lastSeenAt) {
      await db
        .updateTable('devices')
        .set({ connected_at: null, connected_instance: null, last_seen_at: notBefore(lastSeenAt) })
        .where('id', '=', deviceId)
        .where('connected_instance', '=', instanceId)
        .execute();
    },
    async refresh(seen) {
      for (let start = 0; start < seen.length; start += CHUNK) {
        const rows = seen
          .slice(start, start + CHUNK)
          .map((entry) => sql`(${entry.deviceId}, ${entry.at.toISOString()}::timestamptz)`);
        await sql`update devices set last_seen_at = greatest(devices.last_seen_at, seen.at)
          from (values ${sql.join(rows)}) as seen(id, at) where devices.id = seen.id`.execute(db);
      }
    },
    async releaseAll(at) {
      await db
        .updateTable('devices')
        .set({ connected_at: null, connected_instance: null, last_seen_at: at })
        .where('connected_instance', '=', instanceId)
        .execute();
    },
  };
}
