import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ActivityRow } from './activity-row.js';
import { affectedDays } from './affected-days.js';
import { type BatchReach, batchDelta, batchReach } from './batch-delta.js';
import { mergeWindows } from './day-windows.js';
import { type ActivityFact, parseStoredActivityEvent } from './parse-activity-event.js';
import { readReceivedEvents, readSpanEvents, type StoredBatchEvent } from './read-device-events.js';
import { lockDevices, recomputeDeviceDays } from './recompute-device-days.js';
import {
  type ResolvedActivityOptions,
  resolveActivityOptions,
} from './resolve-activity-options.js';
import type { AppFigures } from './span-figures.js';
import type { TenantAnalyticsSettings } from './tenant-analytics-settings.js';
import { type DeviceDaysEntry, readDevicesDays, writeDevicesDays } from './write-device-days.js';

const DAY_MS = 86_400_000;

/** The batches of one device to add, for {@link applyDeviceBatches}. @internal */
export interface DeviceBatches {
  readonly deviceId: string;
  /** The `received_at` values the `events.ingested` records name, in epoch milliseconds. */
  readonly receivedAtMs: readonly number[];
  /** The settings of the device's tenant. */
  readonly settings: TenantAnalyticsSettings;
}

/** What {@link applyDeviceBatches} did. @internal */
export interface DeviceBatchesApply {
  /** Batches (`received_at` values) added for the first time. */
  readonly added: number;
  /** Batches already added, skipped (a redelivery or replay). */
  readonly skipped: number;
  /** Device days whose rows took a batch's difference. */
  readonly days: number;
  /**
   * Device days recomputed from the added batches' events instead: a batch stored with the same
   * `received_at` as one added before it, or rows that no longer matched their events.
   */
  readonly recomputedDays: number;
  /** Days a batch reaches past the retention horizon, left as they are, by device. */
  readonly frozenDays: Readonly<Record<string, readonly string[]>>;
  /** Device rows inserted or updated. */
  readonly upserted: number;
  /** Device rows deleted. */
  readonly deleted: number;
}

/** One device's part of the work, as it goes. */
interface DeviceWork {
  readonly target: DeviceBatches;
  readonly events: StoredBatchEvent[];
  readonly counts: Map<number, number>;
  readonly fresh: Set<number>;
  readonly collided: Set<number>;
  reach?: BatchReach;
  resolved?: ResolvedActivityOptions;
  delta?: Map<string, Map<string, AppFigures>>;
}

function factsOf(events: readonly StoredBatchEvent[]): ActivityFact[] {
  const facts: ActivityFact[] = [];
  for (const event of events) {
    const fact = parseStoredActivityEvent(event);
    if (fact !== undefined) facts.push(fact);
  }
  return facts;
}

function optionsOf(settings: TenantAnalyticsSettings) {
  return { timeZone: settings.timeZone, maxOpenIntervalMs: settings.maxOpenIntervalMs };
}

/**
 * Adds the stored batches that `events.ingested` records name (by device and `received_at`)
 * to the devices' analytics rows, once each (docs/analytics.md, "How the consumer works"), in
 * a fixed number of statements whatever the number of devices:
 *
 * 1. the devices are locked (`lockDevices`) and the batches recorded in `analytics_applied`:
 *    those not there yet are fresh; the others were added before, and a redelivered or
 *    replayed record changes nothing;
 * 2. for the fresh ones, the spans their events can change (`affectedSpan`) are aggregated
 *    from the span windows' events with and without them (`batchDelta`), and the difference is
 *    added to the rows of those days ({@link writeDevicesDays} carries it to the tenant rows
 *    and day totals), so the rows stay the aggregation of the recorded batches' events;
 * 3. days where that cannot hold by difference are recomputed from the recorded batches, one
 *    device at a time: a second batch stored with a `received_at` already recorded (two batches
 *    of a device in one millisecond, the second committed after the first was added), or a day
 *    whose stored rows would go negative (rows edited by hand, or a backlog at the upgrade to
 *    migration 0013).
 *
 * `db` must be a transaction.
 * @internal
 */
export async function applyDeviceBatches(
  db: Kysely<FieldlineDatabase>,
  batches: readonly DeviceBatches[],
  nowMs: number,
): Promise<DeviceBatchesApply> {
  const targets = [...batches].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  await lockDevices(
    db,
    targets.map((t) => t.deviceId),
  );
  const events = await readReceivedEvents(db, targets);
  const work = new Map<string, DeviceWork>();
  for (const target of targets) {
    work.set(target.deviceId, {
      target,
      events: [],
      counts: new Map(),
      fresh: new Set(),
      collided: new Set(),
    });
  }
  for (const event of events) {
    const device = work.get(event.deviceId);
    if (device === undefined) continue;
    device.events.push(event);
    device.counts.set(event.receivedAtMs, (device.counts.get(event.receivedAtMs) ?? 0) + 1);
  }
  const received = targets.reduce((n, t) => n + new Set(t.receivedAtMs).size, 0);

  // Record the batches first: a new row is a fresh batch, a row whose count grew is a second
  // batch with a `received_at` already recorded, a row left alone was added before.
  const counted = [...work.values()].flatMap((device) =>
    [...device.counts].map(([ms, count]) => ({
      device_id: device.target.deviceId,
      received_at: new Date(ms).toISOString(),
      events: count,
    })),
  );
  if (counted.length > 0) {
    const { rows } = await sql<{
      device_id: string;
      received_at: Date | string;
      inserted: boolean;
    }>`
      insert into analytics_applied (device_id, received_at, events)
      select device_id, received_at, events
      from jsonb_to_recordset(${JSON.stringify(counted)}::jsonb)
        as r(device_id text, received_at timestamptz, events integer)
      order by device_id, received_at
      on conflict (device_id, received_at) do update set events = excluded.events
        where analytics_applied.events < excluded.events
      returning device_id, received_at, (xmax = 0) as inserted`.execute(db);
    for (const row of rows) {
      const device = work.get(row.device_id) as DeviceWork;
      (row.inserted ? device.fresh : device.collided).add(new Date(row.received_at).getTime());
    }
  }
  let added = 0;
  let collisions = 0;
  for (const device of work.values()) {
    added += device.fresh.size;
    collisions += device.collided.size;
  }

  // The fresh batches' difference: their windows' events, counted before unless fresh.
  const windows: Array<{ deviceId: string; windows: ReturnType<typeof mergeWindows> }> = [];
  for (const device of work.values()) {
    if (device.fresh.size === 0) continue;
    const { settings } = device.target;
    device.resolved = resolveActivityOptions(optionsOf(settings));
    const { calendar, maxOpenIntervalMs } = device.resolved;
    device.reach = batchReach(
      factsOf(device.events.filter((event) => device.fresh.has(event.receivedAtMs))),
      { calendar, maxOpenIntervalMs, horizonMs: nowMs - settings.retentionDays * DAY_MS },
    );
    windows.push({
      deviceId: device.target.deviceId,
      windows: mergeWindows(device.reach.days.map((day) => day.window)),
    });
  }
  const windowEvents = await readSpanEvents(db, windows);
  const byDevice = new Map<string, StoredBatchEvent[]>();
  for (const event of windowEvents) {
    const list = byDevice.get(event.deviceId);
    if (list === undefined) byDevice.set(event.deviceId, [event]);
    else list.push(event);
  }
  for (const device of work.values()) {
    if (device.reach === undefined || device.resolved === undefined) continue;
    const { resolved } = device;
    device.delta = batchDelta(
      byDevice.get(device.target.deviceId) ?? [],
      device.fresh,
      device.reach,
      resolved,
    );
  }

  // Add the differences, all devices at once; days that would go negative are recomputed.
  const stored = await readDevicesDays(
    db,
    [...work.values()].map((device) => ({
      deviceId: device.target.deviceId,
      days: [...(device.delta?.keys() ?? [])],
    })),
  );
  const storedByDevice = new Map<string, ActivityRow[]>();
  for (const row of stored) {
    const list = storedByDevice.get(row.deviceId);
    if (list === undefined) storedByDevice.set(row.deviceId, [row]);
    else list.push(row);
  }
  const entries: DeviceDaysEntry[] = [];
  const recompute = new Map<string, Set<string>>();
  let deltaDays = 0;
  for (const device of work.values()) {
    const { deviceId, settings } = device.target;
    const days = new Set<string>();
    if (device.delta !== undefined && device.delta.size > 0) {
      const before = storedByDevice.get(deviceId) ?? [];
      const { rows, negativeDays } = addDelta(before, deviceId, device.delta);
      for (const day of negativeDays) days.add(day);
      const addedDays = [...device.delta.keys()].filter((day) => !days.has(day));
      deltaDays += addedDays.length;
      entries.push({
        tenantId: settings.tenantId,
        deviceId,
        days: addedDays,
        rows: rows.filter((row) => !days.has(row.day)),
        stored: before.filter((row) => !days.has(row.day)),
      });
    }
    for (const event of device.events) {
      if (!device.collided.has(event.receivedAtMs)) continue;
      for (const day of affectedDays(event, optionsOf(settings))) days.add(day);
    }
    if (days.size > 0) recompute.set(deviceId, days);
  }
  const written = await writeDevicesDays(db, entries);

  let upserted = written.upserted;
  let deleted = written.deleted;
  let recomputedDays = 0;
  const frozenDays: Record<string, string[]> = {};
  for (const device of work.values()) {
    const frozen = device.reach?.frozenDays ?? [];
    if (frozen.length > 0) frozenDays[device.target.deviceId] = [...frozen];
  }
  for (const [deviceId, days] of recompute) {
    const { settings } = (work.get(deviceId) as DeviceWork).target;
    const result = await recomputeDeviceDays(db, {
      deviceId,
      days: [...days].sort(),
      settings,
      nowMs,
    });
    upserted += result.upserted;
    deleted += result.deleted;
    recomputedDays += result.days.length;
    if (result.frozenDays.length > 0) {
      frozenDays[deviceId] = [...new Set([...(frozenDays[deviceId] ?? []), ...result.frozenDays])];
    }
  }
  return {
    added,
    skipped: received - added - collisions,
    days: deltaDays,
    recomputedDays,
    frozenDays,
    upserted,
    deleted,
  };
}

/**
 * The device's rows of the delta's days with the delta added, rows left at zero dropped.
 * Days where a figure would go negative are returned apart: the rows did not match their
 * events, and only a recompute can tell what they should be.
 */
function addDelta(
  stored: readonly ActivityRow[],
  deviceId: string,
  delta: ReadonlyMap<string, ReadonlyMap<string, AppFigures>>,
): { rows: ActivityRow[]; negativeDays: string[] } {
  const key = (day: string, app: string) => `${day}\u0000${app}`;
  const rows = new Map(stored.map((row) => [key(row.day, row.app), row]));
  const negative = new Set<string>();
  for (const [day, apps] of delta) {
    for (const [app, change] of apps) {
      const old = rows.get(key(day, app));
      const next: ActivityRow = {
        day,
        deviceId,
        app,
        activeMs: (old?.activeMs ?? 0) + change.activeMs,
        idleMs: (old?.idleMs ?? 0) + change.idleMs,
        launches: (old?.launches ?? 0) + change.launches,
        bytesIn: (old?.bytesIn ?? 0) + change.bytesIn,
        bytesOut: (old?.bytesOut ?? 0) + change.bytesOut,
      };
      const { activeMs, idleMs, launches, bytesIn, bytesOut } = next;
      if (Math.min(activeMs, idleMs, launches, bytesIn, bytesOut) < 0) negative.add(day);
      rows.set(key(day, app), next);
    }
  }
  const kept = [...rows.values()].filter(
    (r) => r.activeMs > 0 || r.idleMs > 0 || r.launches > 0 || r.bytesIn > 0 || r.bytesOut > 0,
  );
  return { rows: kept, negativeDays: [...negative].sort() };
}
