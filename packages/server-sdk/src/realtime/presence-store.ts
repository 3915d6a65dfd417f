import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { notificationsFrom } from '../notifications/notification-sql.js';

// Large fleets refresh in chunks so one statement's parameter list stays small.
const CHUNK = 1_000;

/** When a device last showed a sign of life on its socket. */
export interface DeviceSeen {
  readonly deviceId: string;
  readonly at: Date;
}

// last_seen_at is also written by HTTP requests, so a socket's (older) sign of life never wins.
const notBefore = (at: Date) => sql<Date>`greatest(last_seen_at, ${at.toISOString()}::timestamptz)`;

// The `device.online` / `device.offline` payload, written by the statement that changes the
// presence (one insert per change, nothing else to run). RFC 3339 in UTC with milliseconds.
const presencePayload = sql`jsonb_build_object('deviceId', id,
  'at', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

/**
 * Persists the presence of devices connected to one instance
 * (docs/protocol.md §4.3: `connected_at`, `connected_instance`, `last_seen_at`). Each connect
 * writes a `device.online` notification and each disconnect that clears this instance's mark a
 * `device.offline` one, in the same statement (docs/webhooks.md).
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
      await sql`with changed as (
          update devices set connected_at = ${at.toISOString()}::timestamptz,
            connected_instance = ${instanceId}, last_seen_at = ${at.toISOString()}::timestamptz
          where id = ${deviceId}
          returning id, tenant_id, connected_at as at)
        ${notificationsFrom('changed', 'device.online', presencePayload)}`.execute(db);
    },
    async markDisconnected(deviceId, lastSeenAt) {
      await sql`with changed as (
          update devices set connected_at = null, connected_instance = null,
            last_seen_at = ${notBefore(lastSeenAt)}
          where id = ${deviceId} and connected_instance = ${instanceId}
          returning id, tenant_id, last_seen_at as at)
        ${notificationsFrom('changed', 'device.offline', presencePayload)}`.execute(db);
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
      await sql`with changed as (
          update devices set connected_at = null, connected_instance = null,
            last_seen_at = ${at.toISOString()}::timestamptz
          where connected_instance = ${instanceId}
          returning id, tenant_id, last_seen_at as at)
        ${notificationsFrom('changed', 'device.offline', presencePayload)}`.execute(db);
    },
  };
}
