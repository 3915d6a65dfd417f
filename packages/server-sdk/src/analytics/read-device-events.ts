import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { DeviceActivityEvent } from './activity-row.js';
import { ACTIVITY_TYPES, type DayWindow, LOOK_BACK_TYPES } from './day-windows.js';

/** A stored event as the analytics functions take it, with its time for window filters. @internal */
export interface StoredActivityEvent extends DeviceActivityEvent {
  readonly type: string;
  readonly atMs: number;
  /** The envelope as stored (validated when it was stored). */
  readonly event: {
    readonly id: string;
    readonly type: string;
    readonly occurredAt: string;
    readonly seq: number;
    readonly data: unknown;
  };
}

interface EventRow {
  id: string;
  type: string;
  occurred_at: Date | string;
  seq: number | string;
  data: unknown;
}

function toStored(deviceId: string, row: EventRow): StoredActivityEvent {
  const occurredAt = new Date(row.occurred_at);
  return {
    deviceId,
    type: row.type,
    atMs: occurredAt.getTime(),
    event: {
      id: row.id,
      type: row.type,
      occurredAt: occurredAt.toISOString(),
      seq: Number(row.seq),
      data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    },
  };
}

// A look-back event after a window's end matters to the window only when the span it describes
// (`idleThresholdMs`, `idleForMs`, `intervalMs`) starts before that end: testing it here keeps
// a backlog's later events out of every read. In epoch milliseconds as numeric, so no sample
// overflows a timestamp; a value that is not a number (an invalid event, which the aggregation
// ignores anyway) reads as null and keeps the row out.
const reachesBack = sql`e.type in (${sql.join(LOOK_BACK_TYPES)}) and (
  extract(epoch from e.occurred_at) * 1000 - (
    select case when jsonb_typeof(r.reach) = 'number' then (r.reach #>> '{}')::numeric end
    from (select case e.type
      when 'activity.system.idle' then e.data -> 'idleThresholdMs'
      when 'activity.system.active' then e.data -> 'idleForMs'
      else e.data -> 'intervalMs' end as reach) r)
  ) < extract(epoch from w.end_at) * 1000`;

/**
 * The instants every window lies within: a plain range on `occurred_at` lets PostgreSQL read
 * the `(device_id, occurred_at)` index over that range only, before the per-window test.
 */
function outerBounds(windows: readonly DayWindow[]): { fromAt: string; aheadAt: string } {
  let fromMs = Number.POSITIVE_INFINITY;
  let aheadMs = Number.NEGATIVE_INFINITY;
  for (const w of windows) {
    fromMs = Math.min(fromMs, w.fromMs);
    aheadMs = Math.max(aheadMs, w.aheadMs, w.endMs);
  }
  return {
    fromAt: new Date(fromMs - 1).toISOString(),
    aheadAt: new Date(aheadMs + 1).toISOString(),
  };
}

/**
 * One device's activity events inside any of `windows` (see {@link DayWindow}) that the
 * analytics rows count (their batch is in `analytics_applied`), in one statement. The windows are widened by a millisecond each side: stored times keep
 * microseconds while the analytics work in milliseconds, and the caller filters exactly.
 * @internal
 */
export async function readWindowEvents(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  windows: readonly DayWindow[],
): Promise<StoredActivityEvent[]> {
  if (windows.length === 0) return [];
  const bounds = outerBounds(windows);
  const ranges = JSON.stringify(
    windows.map((w) => ({
      from_at: new Date(w.fromMs - 1).toISOString(),
      end_at: new Date(w.endMs + 1).toISOString(),
      ahead_at: new Date(w.aheadMs + 1).toISOString(),
    })),
  );
  const { rows } = await sql<EventRow>`
    select e.id::text as id, e.type, e.occurred_at, e.seq, e.data
    from events e
    where e.device_id = ${deviceId}
      and e.occurred_at >= ${bounds.fromAt}::timestamptz
      and e.occurred_at < ${bounds.aheadAt}::timestamptz
      and e.type in (${sql.join(ACTIVITY_TYPES)})
      and exists (select 1 from analytics_applied a
        where a.device_id = e.device_id and a.received_at = e.received_at)
      and exists (
        select 1 from jsonb_to_recordset(${ranges}::jsonb)
          as w(from_at timestamptz, end_at timestamptz, ahead_at timestamptz)
        where e.occurred_at >= w.from_at
          and (e.occurred_at < w.end_at
            or (e.occurred_at < w.ahead_at and ${reachesBack})))`.execute(db);
  return rows.map((row) => toStored(deviceId, row));
}

/** A stored activity event with its batch (`received_at`) and whether the rows count it. @internal */
export interface StoredBatchEvent extends StoredActivityEvent {
  /** `received_at` in epoch milliseconds: the batch it was stored with. */
  readonly receivedAtMs: number;
  /** Whether its batch is in `analytics_applied`, so the rows already count it. */
  readonly applied: boolean;
}

interface BatchEventRow extends EventRow {
  received_at: Date | string;
  applied: boolean;
}

function toBatchEvent(deviceId: string, row: BatchEventRow): StoredBatchEvent {
  return {
    ...toStored(deviceId, row),
    receivedAtMs: new Date(row.received_at).getTime(),
    applied: row.applied,
  };
}

interface DeviceBatchEventRow extends BatchEventRow {
  device_id: string;
}

/**
 * Every activity event of some devices inside any of their `windows`, counted by the rows or
 * not, each with its batch and whether the rows count it (see {@link readWindowEvents}), in
 * one statement: each window is an index range of `(device_id, occurred_at)`. An event inside
 * two windows of its device comes once.
 * @internal
 */
export async function readSpanEvents(
  db: Kysely<FieldlineDatabase>,
  targets: ReadonlyArray<{ readonly deviceId: string; readonly windows: readonly DayWindow[] }>,
): Promise<StoredBatchEvent[]> {
  const ranges = targets.flatMap(({ deviceId, windows }) =>
    windows.map((w) => ({
      device_id: deviceId,
      from_at: new Date(w.fromMs - 1).toISOString(),
      end_at: new Date(w.endMs + 1).toISOString(),
      ahead_at: new Date(Math.max(w.aheadMs, w.endMs) + 1).toISOString(),
    })),
  );
  if (ranges.length === 0) return [];
  const { rows } = await sql<DeviceBatchEventRow>`
    select e.device_id, e.id::text as id, e.type, e.occurred_at, e.seq, e.data, e.received_at,
      exists (select 1 from analytics_applied a
        where a.device_id = e.device_id and a.received_at = e.received_at) as applied
    from jsonb_to_recordset(${JSON.stringify(ranges)}::jsonb)
      as w(device_id text, from_at timestamptz, end_at timestamptz, ahead_at timestamptz)
    join events e on e.device_id = w.device_id
      and e.occurred_at >= w.from_at and e.occurred_at < w.ahead_at
    where e.type in (${sql.join(ACTIVITY_TYPES)})
      and (e.occurred_at < w.end_at or ${reachesBack})`.execute(db);
  const seen = new Set<string>();
  const events: StoredBatchEvent[] = [];
  for (const row of rows) {
    if (seen.has(row.id)) continue;
    seen.add(row.id);
    events.push(toBatchEvent(row.device_id, row));
  }
  return events;
}

/**
 * Every activity event some devices have stored with any of their `received_at` values: the
 * stored batches `events.ingested` records name (store-events gives every row of a batch the
 * same one), in one statement. All of them, not only the ids a record lists: two batches of a
 * device received in the same millisecond share the value, and are added together.
 * @internal
 */
export async function readReceivedEvents(
  db: Kysely<FieldlineDatabase>,
  batches: ReadonlyArray<{ readonly deviceId: string; readonly receivedAtMs: readonly number[] }>,
): Promise<StoredBatchEvent[]> {
  const keys = batches.flatMap(({ deviceId, receivedAtMs }) =>
    receivedAtMs.map((ms) => ({ device_id: deviceId, received_at: new Date(ms).toISOString() })),
  );
  if (keys.length === 0) return [];
  const { rows } = await sql<DeviceBatchEventRow>`
    select e.device_id, e.id::text as id, e.type, e.occurred_at, e.seq, e.data, e.received_at,
      false as applied
    from jsonb_to_recordset(${JSON.stringify(keys)}::jsonb)
      as k(device_id text, received_at timestamptz)
    join events e on e.device_id = k.device_id and e.received_at = k.received_at
    where e.type in (${sql.join(ACTIVITY_TYPES)})`.execute(db);
  return rows.map((row) => toBatchEvent(row.device_id, row));
}
