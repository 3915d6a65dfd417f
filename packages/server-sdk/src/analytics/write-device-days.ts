import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ActivityRow } from './activity-row.js';
import { writeDeviceDayTotals } from './write-device-day-totals.js';

/** The figures of a row, in the order the tables hold them. */
const FIGURES = ['activeMs', 'idleMs', 'launches', 'bytesIn', 'bytesOut'] as const;
type Figures = Record<(typeof FIGURES)[number], number>;

/** What {@link writeDeviceDays} changed. @internal */
export interface DeviceDaysWrite {
  /** Device rows inserted or updated. */
  readonly upserted: number;
  /** Device rows deleted (their day now has nothing for that app). */
  readonly deleted: number;
}

function key(day: string, app: string): string {
  return `${day}\u0000${app}`;
}

function same(a: Figures, b: Figures): boolean {
  return FIGURES.every((figure) => a[figure] === b[figure]);
}

/**
 * One device's stored `aggregates` rows of `days`.
 * @internal
 */
export async function readDeviceDays(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  days: readonly string[],
): Promise<ActivityRow[]> {
  if (days.length === 0) return [];
  const stored = await db
    .selectFrom('aggregates')
    .select(['day', 'app', 'active_ms', 'idle_ms', 'launches', 'bytes_in', 'bytes_out'])
    .where('device_id', '=', deviceId)
    .where('day', 'in', [...days])
    .execute();
  return stored.map((row) => ({
    day: row.day,
    deviceId,
    app: row.app,
    activeMs: Number(row.active_ms),
    idleMs: Number(row.idle_ms),
    launches: Number(row.launches),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
  }));
}

/**
 * Makes one device's `aggregates` rows of `days` equal `rows` (rows of those days only), and
 * adds the difference to the tenant's `tenant_aggregates` and replaces the device's
 * `device_day_totals` of those days, in the same transaction. Rows that
 * do not change are not written, so recomputing a day again changes nothing. The tenant rows
 * are upserted in (day, app) order, so two transactions that touch the same tenant rows lock
 * them in the same order; tenant rows left with no device and zero figures are deleted.
 *
 * `updated_at` is the statement's clock time, not the transaction's start (`now()`): report
 * ETags read the newest `updated_at` of a range, and a consumer transaction can run long
 * enough that its start time would sort behind rows written meanwhile.
 *
 * `stored` are the device's rows of `days` as they are now, when the caller has read them
 * ({@link readDeviceDays}); else they are read here.
 *
 * The caller holds the device's lock: two writers of one device at once would both subtract
 * the same old rows from the tenant.
 * @internal
 */
export async function writeDeviceDays(
  db: Kysely<FieldlineDatabase>,
  target: {
    readonly tenantId: string;
    readonly deviceId: string;
    readonly days: readonly string[];
  },
  rows: readonly ActivityRow[],
  stored?: readonly ActivityRow[],
): Promise<DeviceDaysWrite> {
  const { tenantId, deviceId, days } = target;
  if (days.length === 0) return { upserted: 0, deleted: 0 };
  const before = new Map<string, { day: string; app: string } & Figures>();
  for (const row of stored ?? (await readDeviceDays(db, deviceId, days))) {
    before.set(key(row.day, row.app), row);
  }
  const after = new Map(rows.map((row) => [key(row.day, row.app), row]));

  const upserts = rows.filter((row) => {
    const old = before.get(key(row.day, row.app));
    return old === undefined || !same(old, row);
  });
  const deletes = [...before.values()].filter((old) => !after.has(key(old.day, old.app)));

  // The tenant's change per (day, app): new figures minus old, and the device count.
  const deltas = new Map<string, { day: string; app: string; devices: number } & Figures>();
  const delta = (day: string, app: string) => {
    let found = deltas.get(key(day, app));
    if (found === undefined) {
      found = {
        day,
        app,
        devices: 0,
        activeMs: 0,
        idleMs: 0,
        launches: 0,
        bytesIn: 0,
        bytesOut: 0,
      };
      deltas.set(key(day, app), found);
    }
    return found;
  };
  for (const row of upserts) {
    const d = delta(row.day, row.app);
    const old = before.get(key(row.day, row.app));
    if (old === undefined) d.devices += 1;
    for (const figure of FIGURES) d[figure] += row[figure] - (old?.[figure] ?? 0);
  }
  for (const old of deletes) {
    const d = delta(old.day, old.app);
    d.devices -= 1;
    for (const figure of FIGURES) d[figure] -= old[figure];
  }

  if (deletes.length > 0) {
    const keys = JSON.stringify(deletes.map(({ day, app }) => ({ day, app })));
    await sql`
      delete from aggregates a
      using jsonb_to_recordset(${keys}::jsonb) as k(day date, app text)
      where a.device_id = ${deviceId} and a.day = k.day and a.app = k.app`.execute(db);
  }
  if (upserts.length > 0) {
    const values = JSON.stringify(
      upserts.map((row) => ({
        day: row.day,
        app: row.app,
        active_ms: row.activeMs,
        idle_ms: row.idleMs,
        launches: row.launches,
        bytes_in: row.bytesIn,
        bytes_out: row.bytesOut,
      })),
    );
    await sql`
      insert into aggregates
        (tenant_id, device_id, day, app, active_ms, idle_ms, launches, bytes_in, bytes_out, updated_at)
      select ${tenantId}, ${deviceId}, day, app, active_ms, idle_ms, launches, bytes_in, bytes_out,
        clock_timestamp()
      from jsonb_to_recordset(${values}::jsonb) as r(
        day date, app text, active_ms bigint, idle_ms bigint, launches bigint,
        bytes_in bigint, bytes_out bigint)
      on conflict (device_id, day, app) do update set
        tenant_id = excluded.tenant_id, active_ms = excluded.active_ms, idle_ms = excluded.idle_ms,
        launches = excluded.launches, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
        updated_at = excluded.updated_at`.execute(db);
  }
  const changes = [...deltas.values()]
    .filter((d) => d.devices !== 0 || FIGURES.some((figure) => d[figure] !== 0))
    .sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.app < b.app ? -1 : 1));
  if (changes.length > 0) {
    const values = JSON.stringify(
      changes.map((d) => ({
        day: d.day,
        app: d.app,
        devices: d.devices,
        active_ms: d.activeMs,
        idle_ms: d.idleMs,
        launches: d.launches,
        bytes_in: d.bytesIn,
        bytes_out: d.bytesOut,
      })),
    );
    await sql`
      insert into tenant_aggregates
        (tenant_id, day, app, devices, active_ms, idle_ms, launches, bytes_in, bytes_out, updated_at)
      select ${tenantId}, day, app, devices, active_ms, idle_ms, launches, bytes_in, bytes_out,
        clock_timestamp()
      from jsonb_to_recordset(${values}::jsonb) as r(
        day date, app text, devices integer, active_ms bigint, idle_ms bigint, launches bigint,
        bytes_in bigint, bytes_out bigint)
      order by day, app
      on conflict (tenant_id, day, app) do update set
        devices = tenant_aggregates.devices + excluded.devices,
        active_ms = tenant_aggregates.active_ms + excluded.active_ms,
        idle_ms = tenant_aggregates.idle_ms + excluded.idle_ms,
        launches = tenant_aggregates.launches + excluded.launches,
        bytes_in = tenant_aggregates.bytes_in + excluded.bytes_in,
        bytes_out = tenant_aggregates.bytes_out + excluded.bytes_out,
        updated_at = excluded.updated_at`.execute(db);
    // Only a decrease can leave a tenant row empty.
    const decreased = changes.some((d) => d.devices < 0 || FIGURES.some((figure) => d[figure] < 0));
    if (decreased)
      await sql`
      delete from tenant_aggregates t
      using jsonb_to_recordset(${values}::jsonb) as k(day date, app text)
      where t.tenant_id = ${tenantId} and t.day = k.day and t.app = k.app
        and t.devices = 0 and t.active_ms = 0 and t.idle_ms = 0 and t.launches = 0
        and t.bytes_in = 0 and t.bytes_out = 0`.execute(db);
  }
  if (upserts.length > 0 || deletes.length > 0) await writeDeviceDayTotals(db, target, rows);
  return { upserted: upserts.length, deleted: deletes.length };
}
