import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** Records when devices were last heard from, without a write per request. */
export interface LastSeenTracker {
  /** Notes that `deviceId` was just seen; writes at most once per interval per device. */
  touch(deviceId: string): Promise<void>;
}

/**
 * Creates a tracker that updates `devices.last_seen_at` at most once every
 * `intervalMs` per device (and remembers at most `maxDevices` devices).
 *
 * @param db - the database.
 * @param options - clock, write interval.
 */
export function createLastSeenTracker(
  db: Kysely<FieldlineDatabase>,
  options: { readonly clock: Clock; readonly intervalMs?: number; readonly maxDevices?: number },
): LastSeenTracker {
  const intervalMs = options.intervalMs ?? 10_000;
  const maxDevices = options.maxDevices ?? 100_000;
  const lastWrite = new Map<string, number>();
  return {
    async touch(deviceId) {
      const now = options.clock.now();
      const previous = lastWrite.get(deviceId);
      if (previous !== undefined && now - previous < intervalMs) return;
      lastWrite.delete(deviceId);
      lastWrite.set(deviceId, now);
      if (lastWrite.size > maxDevices) {
        const oldest = lastWrite.keys().next().value;
        if (oldest !== undefined) lastWrite.delete(oldest);
      }
      await db
        .updateTable('devices')
        .set({ last_seen_at: new Date(now) })
        .where('id', '=', deviceId)
        .execute();
    },
  };
}
