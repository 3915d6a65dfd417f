import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { DeviceActivityEvent } from './activity-row.js';
import { ACTIVITY_TYPES, type DayWindow, LOOK_BACK_TYPES } from './day-windows.js';

/** A stored event as the analytics functions take it, with its time for window filters. @internal */
export interface StoredActivityEvent extends DeviceActivityEvent {
  readonly type: string;
  readonly atMs: number;
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
      and e.type in (${sql.join(ACTIVITY_TYPES)})
      and exists (select 1 from analytics_applied a
        where a.device_id = e.device_id and a.received_at = e.received_at)
      and exists (
        select 1 from jsonb_to_recordset(${ranges}::jsonb)
          as w(from_at timestamptz, end_at timestamptz, ahead_at timestamptz)
        where e.occurred_at >= w.from_at
          and (e.occurred_at < w.end_at
            or (e.occurred_at < w.ahead_at and e.type in (${sql.join(LOOK_BACK_TYPES)}))))`.execute(
    db,
  );
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

/**
 * Every activity event of one device inside any of `windows`, counted by the rows or not,
 * each with its batch and whether the rows count it (see {@link readWindowEvents}).
 * @internal
 */
export async function readSpanEvents(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  windows: readonly DayWindow[],
): Promise<StoredBatchEvent[]> {
  if (windows.length === 0) return [];
  const ranges = JSON.stringify(
    windows.map((w) => ({
      from_at: new Date(w.fromMs - 1).toISOString(),
      end_at: new Date(w.endMs + 1).toISOString(),
      ahead_at: new Date(w.aheadMs + 1).toISOString(),
    })),
  );
  const { rows } = await sql<BatchEventRow>`
    select e.id::text as id, e.type, e.occurred_at, e.seq, e.data, e.received_at,
      exists (select 1 from analytics_applied a
        where a.device_id = e.device_id and a.received_at = e.received_at) as applied
    from events e
    where e.device_id = ${deviceId}
      and e.type in (${sql.join(ACTIVITY_TYPES)})
      and exists (
        select 1 from jsonb_to_recordset(${ranges}::jsonb)
          as w(from_at timestamptz, end_at timestamptz, ahead_at timestamptz)
        where e.occurred_at >= w.from_at
          and (e.occurred_at < w.end_at
            or (e.occurred_at < w.ahead_at and e.type in (${sql.join(LOOK_BACK_TYPES)}))))`.execute(
    db,
  );
  return rows.map((row) => toBatchEvent(deviceId, row));
}

/**
 * Every activity event one device has stored with any of these `received_at` values: the
 * stored batches an `events.ingested` record names (store-events gives every row of a batch
 * the same one). All of them, not only the ids a record lists: two batches of a device
 * received in the same millisecond share the value, and are added together.
 * @internal
 */
export async function readReceivedEvents(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  receivedAtMs: readonly number[],
): Promise<StoredBatchEvent[]> {
  if (receivedAtMs.length === 0) return [];
  const { rows } = await sql<BatchEventRow>`
    select e.id::text as id, e.type, e.occurred_at, e.seq, e.data, e.received_at, false as applied
    from events e
    where e.device_id = ${deviceId}
      and e.type in (${sql.join(ACTIVITY_TYPES)})
      and e.received_at in (${sql.join(receivedAtMs.map((ms) => new Date(ms).toISOString()))})`.execute(
    db,
  );
  return rows.map((row) => toBatchEvent(deviceId, row));
}
