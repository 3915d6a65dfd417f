import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ActivityRow } from './activity-row.js';
import { writeDevicesDayTotals } from './write-device-day-totals.js';

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

/** A stored `aggregates` row's columns (bigint columns may come back as strings). @internal */
export interface StoredAggregateRow {
  readonly device_id: string;
  readonly day: string;
  readonly app: string;
  readonly active_ms: string | number;
  readonly idle_ms: string | number;
  readonly launches: string | number;
  readonly bytes_in: string | number;
  readonly bytes_out: string | number;
}

/** A stored `aggregates` row as an {@link ActivityRow}. @internal */
export function toActivityRow(row: StoredAggregateRow): ActivityRow {
  return {
    day: row.day,
    deviceId: row.device_id,
    app: row.app,
    activeMs: Number(row.active_ms),
    idleMs: Number(row.idle_ms),
    launches: Number(row.launches),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
  };
}

/**
 * Devices' stored `aggregates` rows of some days each, in one statement.
 * @internal
 */
export async function readDevicesDays(
  db: Kysely<FieldlineDatabase>,
  targets: ReadonlyArray<{ readonly deviceId: string; readonly days: readonly string[] }>,
): Promise<ActivityRow[]> {
  const pairs = targets.flatMap(({ deviceId, days }) =>
    days.map((day) => ({ device_id: deviceId, day })),
  );
  if (pairs.length === 0) return [];
  const { rows } = await sql<StoredAggregateRow>`
    select a.device_id, a.day, a.app, a.active_ms, a.idle_ms, a.launches, a.bytes_in, a.bytes_out
    from jsonb_to_recordset(${JSON.stringify(pairs)}::jsonb) as k(device_id text, day date)
    join aggregates a on a.device_id = k.device_id and a.day = k.day`.execute(db);
  return rows.map(toActivityRow);
}

/**
 * One device's stored `aggregates` rows of `days`.
 * @internal
 */
export function readDeviceDays(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  days: readonly string[],
): Promise<ActivityRow[]> {
  return readDevicesDays(db, [{ deviceId, days }]);
}

/** One device's new rows of some days, for {@link writeDevicesDays}. @internal */
export interface DeviceDaysEntry {
  readonly tenantId: string;
  readonly deviceId: string;
  /** The days rewritten: rows of these days not in `rows` are deleted. */
  readonly days: readonly string[];
  /** The device's new rows of `days` (of those days only). */
  readonly rows: readonly ActivityRow[];
  /** The device's rows of `days` as they are now ({@link readDevicesDays}). */
  readonly stored: readonly ActivityRow[];
}

/**
 * Makes one device's `aggregates` rows of `days` equal `rows` (rows of those days only), and
 * adds the difference to the tenant's `tenant_aggregates` and replaces the device's
 * `device_day_totals` of those days, in the same transaction: {@link writeDevicesDays} for one
 * device, reading its stored rows first unless given.
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
  if (target.days.length === 0) return { upserted: 0, deleted: 0 };
  return writeDevicesDays(db, [
    { ...target, rows, stored: stored ?? (await readDeviceDays(db, target.deviceId, target.days)) },
  ]);
}

/**
 * Makes each device's `aggregates` rows of its `days` equal its `rows`, adds the difference to
 * the tenants' `tenant_aggregates` and replaces the devices' `device_day_totals` of those days,
 * in a handful of statements whatever the number of devices. Rows that do not change are not
 * written, so recomputing a day again changes nothing. Tenant rows are upserted in (tenant,
 * day, app) order, so two transactions that touch the same tenant rows lock them in the same
 * order; tenant rows left with no device and zero figures are deleted.
 *
 * `updated_at` is the statement's clock time, not the transaction's start (`now()`): report
 * ETags read the newest `updated_at` of a range, and a consumer transaction can run long
 * enough that its start time would sort behind rows written meanwhile.
 *
 * The caller holds every device's lock: two writers of one device at once would both subtract
 * the same old rows from the tenant.
 * @internal
 */
export async function writeDevicesDays(
  db: Kysely<FieldlineDatabase>,
  entries: readonly DeviceDaysEntry[],
): Promise<DeviceDaysWrite> {
  const upserts: Array<{ tenantId: string; row: ActivityRow }> = [];
  const deletes: Array<{ deviceId: string; day: string; app: string }> = [];
  const changedDevices: DeviceDaysEntry[] = [];
  // Each tenant's change per (day, app): new figures minus old, and the device count.
  const deltas = new Map<
    string,
    { tenantId: string; day: string; app: string; devices: number } & Figures
  >();
  const delta = (tenantId: string, day: string, app: string) => {
    const k = `${tenantId}\u0000${key(day, app)}`;
    let found = deltas.get(k);
    if (found === undefined) {
      found = { tenantId, day, app, devices: 0, ...zero() };
      deltas.set(k, found);
    }
    return found;
  };
  for (const entry of entries) {
    if (entry.days.length === 0) continue;
    const before = new Map(entry.stored.map((row) => [key(row.day, row.app), row]));
    const after = new Map(entry.rows.map((row) => [key(row.day, row.app), row]));
    let changed = false;
    for (const row of entry.rows) {
      const old = before.get(key(row.day, row.app));
      if (old !== undefined && same(old, row)) continue;
      changed = true;
      upserts.push({ tenantId: entry.tenantId, row });
      const d = delta(entry.tenantId, row.day, row.app);
      if (old === undefined) d.devices += 1;
      for (const figure of FIGURES) d[figure] += row[figure] - (old?.[figure] ?? 0);
    }
    for (const old of entry.stored) {
      if (after.has(key(old.day, old.app))) continue;
      changed = true;
      deletes.push({ deviceId: entry.deviceId, day: old.day, app: old.app });
      const d = delta(entry.tenantId, old.day, old.app);
      d.devices -= 1;
      for (const figure of FIGURES) d[figure] -= old[figure];
    }
    if (changed) changedDevices.push(entry);
  }

  if (deletes.length > 0) {
    const keys = JSON.stringify(
      deletes.map(({ deviceId, day, app }) => ({ device_id: deviceId, day, app })),
    );
    await sql`
      delete from aggregates a
      using jsonb_to_recordset(${keys}::jsonb) as k(device_id text, day date, app text)
      where a.device_id = k.device_id and a.day = k.day and a.app = k.app`.execute(db);
  }
  if (upserts.length > 0) {
    const values = JSON.stringify(
      upserts.map(({ tenantId, row }) => ({
        tenant_id: tenantId,
        device_id: row.deviceId,
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
      select tenant_id, device_id, day, app, active_ms, idle_ms, launches, bytes_in, bytes_out,
        clock_timestamp()
      from jsonb_to_recordset(${values}::jsonb) as r(
        tenant_id text, device_id text, day date, app text, active_ms bigint, idle_ms bigint,
        launches bigint, bytes_in bigint, bytes_out bigint)
      on conflict (device_id, day, app) do update set
        tenant_id = excluded.tenant_id, active_ms = excluded.active_ms, idle_ms = excluded.idle_ms,
        launches = excluded.launches, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
        updated_at = excluded.updated_at`.execute(db);
  }
  const changes = [...deltas.values()]
    .filter((d) => d.devices !== 0 || FIGURES.some((figure) => d[figure] !== 0))
    .sort(
      (a, b) =>
        compareText(a.tenantId, b.tenantId) ||
        compareText(a.day, b.day) ||
        compareText(a.app, b.app),
    );
  if (changes.length > 0) {
    const values = JSON.stringify(
      changes.map((d) => ({
        tenant_id: d.tenantId,
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
      select tenant_id, day, app, devices, active_ms, idle_ms, launches, bytes_in, bytes_out,
        clock_timestamp()
      from jsonb_to_recordset(${values}::jsonb) as r(
        tenant_id text, day date, app text, devices integer, active_ms bigint, idle_ms bigint,
        launches bigint, bytes_in bigint, bytes_out bigint)
      order by tenant_id, day, app
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
      using jsonb_to_recordset(${values}::jsonb) as k(tenant_id text, day date, app text)
      where t.tenant_id = k.tenant_id and t.day = k.day and t.app = k.app
        and t.devices = 0 and t.active_ms = 0 and t.idle_ms = 0 and t.launches = 0
        and t.bytes_in = 0 and t.bytes_out = 0`.execute(db);
  }
  if (changedDevices.length > 0) await writeDevicesDayTotals(db, changedDevices);
  return { upserted: upserts.length, deleted: deletes.length };
}

function zero(): Figures {
  return { activeMs: 0, idleMs: 0, launches: 0, bytesIn: 0, bytesOut: 0 };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
