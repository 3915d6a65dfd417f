import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ActivityRow } from './activity-row.js';
import { affectedDays } from './affected-days.js';
import { batchDelta, batchReach } from './batch-delta.js';
import { mergeWindows } from './day-windows.js';
import { type ActivityFact, parseStoredActivityEvent } from './parse-activity-event.js';
import { readReceivedEvents, readSpanEvents, type StoredBatchEvent } from './read-device-events.js';
import { recomputeDeviceDays } from './recompute-device-days.js';
import { resolveActivityOptions } from './resolve-activity-options.js';
import type { AppFigures } from './span-figures.js';
import type { TenantAnalyticsSettings } from './tenant-analytics-settings.js';
import { readDeviceDays, writeDeviceDays } from './write-device-days.js';

const DAY_MS = 86_400_000;

/** What {@link applyDeviceBatches} did. @internal */
export interface DeviceBatchesApply {
  /** Batches (`received_at` values) added for the first time. */
  readonly added: number;
  /** Batches already added, skipped (a redelivery or replay). */
  readonly skipped: number;
  /** Days whose rows took a batch's difference. */
  readonly days: readonly string[];
  /**
   * Days recomputed from the added batches' events instead: a batch stored with the same
   * `received_at` as one added before it, or rows that no longer matched their events.
   */
  readonly recomputedDays: readonly string[];
  /** Days a batch reaches past the retention horizon, left as they are. */
  readonly frozenDays: readonly string[];
  /** Device rows inserted or updated. */
  readonly upserted: number;
  /** Device rows deleted. */
  readonly deleted: number;
}

function factsOf(events: readonly StoredBatchEvent[]): ActivityFact[] {
  const facts: ActivityFact[] = [];
  for (const event of events) {
    const fact = parseStoredActivityEvent(event);
    if (fact !== undefined) facts.push(fact);
  }
  return facts;
}

/**
 * Adds the stored batches of one device that `events.ingested` records name (by their
 * `received_at`) to its analytics rows, once each (docs/analytics.md, "How the consumer works"):
 *
 * 1. the batches are recorded in `analytics_applied`: those not there yet are fresh; the
 *    others were added before, and a redelivered or replayed record changes nothing;
 * 2. for the fresh ones, the spans their events can change (`affectedSpan`) are aggregated
 *    from the span windows' events with and without them, and the difference is added to the
 *    rows of those days ({@link writeDeviceDays} carries it to the tenant and day totals);
 * 3. so the rows stay the aggregation of the recorded batches' events;
 * 4. days where that cannot hold by difference are recomputed from the recorded batches: a
 *    second batch stored with a `received_at` already recorded (two batches of a device in one
 *    millisecond, the second committed after the first was added), or a day whose stored rows
 *    would go negative (rows edited by hand, or a backlog at the upgrade to migration 0013).
 *
 * `db` must be a transaction holding the device's lock (`lockDevice`).
 * @internal
 */
export async function applyDeviceBatches(
  db: Kysely<FieldlineDatabase>,
  target: {
    readonly deviceId: string;
    readonly receivedAtMs: readonly number[];
    readonly settings: TenantAnalyticsSettings;
    readonly nowMs: number;
  },
): Promise<DeviceBatchesApply> {
  const { deviceId, settings, nowMs } = target;
  const received = [...new Set(target.receivedAtMs)].sort((a, b) => a - b);
  const events = await readReceivedEvents(db, deviceId, received);
  const counts = new Map<number, number>();
  for (const event of events) {
    counts.set(event.receivedAtMs, (counts.get(event.receivedAtMs) ?? 0) + 1);
  }
  const options = { timeZone: settings.timeZone, maxOpenIntervalMs: settings.maxOpenIntervalMs };
  const { calendar, maxOpenIntervalMs } = resolveActivityOptions(options);
  const horizonMs = nowMs - settings.retentionDays * DAY_MS;

  // Record the batches first: a new row is a fresh batch, a row whose count grew is a second
  // batch with a `received_at` already recorded, a row left alone was added before.
  const fresh = new Set<number>();
  const collided = new Set<number>();
  if (counts.size > 0) {
    const values = JSON.stringify(
      [...counts].map(([ms, events]) => ({ received_at: new Date(ms).toISOString(), events })),
    );
    const { rows } = await sql<{ received_at: Date | string; inserted: boolean }>`
      insert into analytics_applied (device_id, received_at, events)
      select ${deviceId}, received_at, events
      from jsonb_to_recordset(${values}::jsonb) as r(received_at timestamptz, events integer)
      on conflict (device_id, received_at) do update set events = excluded.events
        where analytics_applied.events < excluded.events
      returning received_at, (xmax = 0) as inserted`.execute(db);
    for (const row of rows) {
      (row.inserted ? fresh : collided).add(new Date(row.received_at).getTime());
    }
  }
  const skipped = received.length - fresh.size - collided.size;

  // The fresh batches' difference: their windows' events, counted before unless fresh.
  const reach = batchReach(factsOf(events.filter((event) => fresh.has(event.receivedAtMs))), {
    calendar,
    maxOpenIntervalMs,
    horizonMs,
  });
  const windowEvents = await readSpanEvents(
    db,
    deviceId,
    mergeWindows(reach.days.map((day) => day.window)),
  );
  const delta = batchDelta(windowEvents, fresh, reach, { calendar, maxOpenIntervalMs });

  const stored = await readDeviceDays(db, deviceId, [...delta.keys()]);
  const { rows, negativeDays } = addDelta(stored, deviceId, delta);
  const addedDays = [...delta.keys()].filter((day) => !negativeDays.includes(day));
  const written = await writeDeviceDays(
    db,
    { tenantId: settings.tenantId, deviceId, days: addedDays },
    rows.filter((row) => !negativeDays.includes(row.day)),
    stored.filter((row) => !negativeDays.includes(row.day)),
  );

  const recompute = new Set(negativeDays);
  for (const event of events) {
    if (!collided.has(event.receivedAtMs)) continue;
    for (const day of affectedDays(event, options)) recompute.add(day);
  }
  let upserted = written.upserted;
  let deleted = written.deleted;
  let recomputedDays: readonly string[] = [];
  const frozenDays = new Set(reach.frozenDays);
  if (recompute.size > 0) {
    const result = await recomputeDeviceDays(db, {
      deviceId,
      days: [...recompute].sort(),
      settings,
      nowMs,
    });
    upserted += result.upserted;
    deleted += result.deleted;
    recomputedDays = result.days;
    for (const day of result.frozenDays) frozenDays.add(day);
  }
  return {
    added: fresh.size,
    skipped,
    days: addedDays,
    recomputedDays,
    frozenDays: [...frozenDays].sort(),
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
