import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

// Large fleets refresh in chunks so one statement's parameter list stays small.
const CHUNK = 1_000;

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
   */
  markDisconnected(deviceId: string, at: Date): Promise<void>;
  /** Refreshes `last_seen_at` of every device that showed a sign of life. */
  refresh(deviceIds: readonly string[], at: Date): Promise<void>;
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
    async markDisconnected(deviceId, at) {
      await db
        .updateTable('devices')
        .set({ connected_at: null, connected_instance: null, last_seen_at: at })
        .where('id', '=', deviceId)
        .where('connected_instance', '=', instanceId)
        .execute();
    },
    async refresh(deviceIds, at) {
      for (let start = 0; start < deviceIds.length; start += CHUNK) {
        await db
          .updateTable('devices')
          .set({ last_seen_at: at })
          .where('id', 'in', deviceIds.slice(start, start + CHUNK))
          .execute();
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
