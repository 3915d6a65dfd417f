import { REALTIME_CLOSE_CODES } from '@fieldline/core';
import { sql } from 'kysely';
import type { AppContext } from '../app/app-context.js';
import { appendAudit } from '../audit/append-audit.js';
import { announceStandingChange } from '../devices/announce-standing-change.js';
import { type DeviceRefusal, readDeviceRefusal } from '../devices/device-standing.js';
import type { DeviceClosureNotice } from './device-closure-notice.js';

/** How the gateway re-checks a connected device's standing and spots clones (§5). */
export interface StandingGuardOptions {
  /**
   * Longest time a connected device's standing (revoked, quarantined, rotation required) is
   * trusted before a frame re-reads it, so a lost bus notice delays a revocation by at most
   * this long.
   * @default 1_000
   */
  readonly recheckIntervalMs?: number;
  /**
   * Live connections of one device displaced by a newer one, within {@link cloneWindowMs},
   * after which the device is quarantined as a suspected clone.
   * @default 5
   */
  readonly cloneTakeovers?: number;
  /**
   * The window {@link cloneTakeovers} are counted in.
   * @default 600_000 (10 min)
   */
  readonly cloneWindowMs?: number;
}

/** What the gateway asks of the guard. */
export interface StandingGuard {
  /**
   * The device's refusal, if any, from a short-lived cache.
   *
   * @param deviceId - a connected device.
   * @param fresh - read the database whatever the cache holds (frames that store something:
   *   event batches, command acks), so nothing is stored after a revocation returned.
   * @returns the refusal, or undefined when the device may go on.
   */
  refusalFor(
    deviceId: string,
    fresh?: boolean,
  ): Promise<DeviceRefusal | undefined> | DeviceRefusal | undefined;
  /**
   * A refusal announced on the bus after `sinceMs`, for a connection whose authentication may
   * have read the database before the change.
   */
  refusedSince(deviceId: string, sinceMs: number): DeviceRefusal | undefined;
  /** Remembers that the device was just found in good standing (at its welcome). */
  noteGood(deviceId: string): void;
  /** Remembers a closure notice, so frames in flight are refused without a query. */
  noteClosure(notice: DeviceClosureNotice): void;
  /** Forgets a device whose last connection here closed. */
  forget(deviceId: string): void;
  /**
   * Counts a live connection displaced by a newer one of the same device; past the
   * threshold, quarantines the device, audits `device.clone_suspected` and closes its sockets.
   */
  recordTakeover(deviceId: string, instanceId: string): Promise<void>;
}

interface CacheEntry {
  readonly atMs: number;
  /** The read in flight, shared by the frames that arrive meanwhile. */
  readonly pending?: Promise<DeviceRefusal | undefined>;
  readonly refusal?: DeviceRefusal;
}

const CLOSURE_MEMORY_MS = 60_000;
const MAX_CLOSURES = 10_000;

function refusalOfNotice(notice: DeviceClosureNotice): DeviceRefusal | undefined {
  // A rotation closes old sockets but refuses nobody: the device comes back with its new key.
  if (notice.reason === 'keys_rotated') return undefined;
  return { code: notice.reason, closeCode: notice.closeCode, message: '' };
}

/**
 * Creates the gateway's standing guard: a per-device cache of "may this device still speak"
 * (refreshed at most every `recheckIntervalMs`, overridden at once by closure notices) and
 * the clone detector.
 *
 * @param context - database, clock, bus and admin events.
 * @param options - see {@link StandingGuardOptions}.
 * @returns the guard.
 */
export function createStandingGuard(
  context: Pick<AppContext, 'db' | 'clock' | 'bus' | 'adminEvents'>,
  options: StandingGuardOptions = {},
): StandingGuard {
  const { db, clock } = context;
  const recheckMs = options.recheckIntervalMs ?? 1_000;
  const threshold = options.cloneTakeovers ?? 5;
  const windowMs = options.cloneWindowMs ?? 600_000;
  const cache = new Map<string, CacheEntry>();
  const closures = new Map<string, { readonly atMs: number; readonly refusal: DeviceRefusal }>();

  const messageOf = (refusal: DeviceRefusal): DeviceRefusal =>
    refusal.message !== ''
      ? refusal
      : {
          ...refusal,
          message:
            refusal.code === 'device_revoked'
              ? 'This device was revoked; stop, do not reconnect.'
              : refusal.code === 'device_quarantined'
                ? 'This device is quarantined as a suspected clone; an admin must act.'
                : 'The server requires new device keys: rotate them, then reconnect.',
        };

  async function quarantine(deviceId: string, takeovers: number, instanceId: string) {
    const now = new Date(clock.now());
    const quarantined = await db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('devices')
        .set({ quarantined_at: now, clone_suspected_at: now })
        .where('id', '=', deviceId)
        .where('quarantined_at', 'is', null)
        .returning(['tenant_id'])
        .executeTakeFirst();
      if (row === undefined) return undefined;
      await appendAudit(
        trx,
        {
          tenantId: row.tenant_id,
          actor: `system:${instanceId}`,
          action: 'device.clone_suspected',
          subject: `device:${deviceId}`,
          details: { takeovers, windowMs, quarantined: true },
        },
        { clock },
      );
      return row;
    });
    if (quarantined === undefined) return;
    await announceStandingChange(
      context,
      { id: deviceId, tenantId: quarantined.tenant_id },
      'clone_suspected',
      { closeCode: REALTIME_CLOSE_CODES.deviceQuarantined, reason: 'device_quarantined' },
      now,
    );
  }

  return {
    refusalFor(deviceId, fresh = false) {
      const nowMs = clock.now();
      const cached = cache.get(deviceId);
      // A refusal sticks: the connection is about to close, and a new one re-authenticates.
      if (cached?.refusal !== undefined) return cached.refusal;
      if (!fresh && cached !== undefined && nowMs - cached.atMs < recheckMs) {
        return cached.pending ?? undefined;
      }
      const pending = readDeviceRefusal(db, deviceId);
      const entry: CacheEntry = { atMs: nowMs, pending };
      cache.set(deviceId, entry);
      pending.then(
        (refusal) => {
          if (cache.get(deviceId) === entry) cache.set(deviceId, { atMs: nowMs, refusal });
        },
        // A failed read is not cached: the next frame asks again.
        () => {
          if (cache.get(deviceId) === entry) cache.delete(deviceId);
        },
      );
      return pending;
    },
    refusedSince(deviceId, sinceMs) {
      const closure = closures.get(deviceId);
      return closure !== undefined && closure.atMs >= sinceMs
        ? messageOf(closure.refusal)
        : undefined;
    },
    noteGood(deviceId) {
      cache.set(deviceId, { atMs: clock.now() });
    },
    noteClosure(notice) {
      const nowMs = clock.now();
      const refused = refusalOfNotice(notice);
      if (refused === undefined) {
        cache.delete(notice.deviceId);
        return;
      }
      const refusal = messageOf(refused);
      cache.set(notice.deviceId, { atMs: nowMs, refusal });
      if (closures.size >= MAX_CLOSURES) {
        for (const [id, closure] of closures) {
          if (nowMs - closure.atMs > CLOSURE_MEMORY_MS) closures.delete(id);
        }
      }
      if (closures.size < MAX_CLOSURES) closures.set(notice.deviceId, { atMs: nowMs, refusal });
    },
    forget(deviceId) {
      cache.delete(deviceId);
    },
    async recordTakeover(deviceId, instanceId) {
      const now = new Date(clock.now()).toISOString();
      const since = new Date(clock.now() - windowMs).toISOString();
      // One statement, so takeovers counted on several instances at once all add up.
      const row = await db
        .updateTable('devices')
        .set({
          takeovers: sql<number>`case when takeovers_since > ${since}::timestamptz then takeovers + 1 else 1 end`,
          takeovers_since: sql<Date>`case when takeovers_since > ${since}::timestamptz then takeovers_since else ${now}::timestamptz end`,
        })
        .where('id', '=', deviceId)
        .where('status', '=', 'active')
        .where('quarantined_at', 'is', null)
        .returning(['takeovers'])
        .executeTakeFirst();
      if (row !== undefined && row.takeovers >= threshold) {
        await quarantine(deviceId, row.takeovers, instanceId);
      }
    },
  };
}
