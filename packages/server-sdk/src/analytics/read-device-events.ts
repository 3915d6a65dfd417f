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
 * One device's activity events inside any of `windows` (see {@link DayWindow}), in one
 * statement. The windows are widened by a millisecond each side: stored times keep
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

/**
 * The events of one stored batch: by id when the outbox message lists them, else by the
 * device and the batch's `received_at` (store-events gives every row of a batch the same one).
 * @internal
 */
export async function readBatchEvents(
  db: Kysely<FieldlineDatabase>,
  batch: {
    readonly deviceId: string;
    readonly receivedAt: string;
    readonly ids?: readonly string[];
  },
): Promise<StoredActivityEvent[]> {
  let query = db
    .selectFrom('events')
    .select(['id', 'type', 'occurred_at', 'seq', 'data'])
    .where('device_id', '=', batch.deviceId)
    .where('type', 'in', [...ACTIVITY_TYPES]);
  if (batch.ids !== undefined) {
    if (batch.ids.length === 0) return [];
    query = query.where('id', 'in', [...batch.ids]);
  } else {
    query = query.where('received_at', '=', new Date(batch.receivedAt));
  }
  const rows = await query.execute();
  return rows.map((row) => toStored(batch.deviceId, row as EventRow));
}
