import type { ActivityReportQuery, ActivityReportRow } from '@fieldline/core';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ReportBody } from './report-response.js';

/** Where an activity report reads from, chosen by its query (docs/analytics.md). */
export type ActivitySource =
  | 'tenant_aggregates'
  | 'device_day_totals'
  | 'aggregates_by_device'
  | 'aggregates_by_tenant';

/**
 * Picks the table and index a report reads: the per-tenant sums in `tenant_aggregates` (days ×
 * apps rows however many devices the tenant has) unless a device is named or grouped by; then
 * `device_day_totals` (one row per device and day) unless the report is also by app; only a
 * report by device *and* app reads `aggregates` itself, by its primary key for one device or
 * by `(tenant_id, day)` for all.
 *
 * @param query - the parsed query.
 * @returns the source.
 */
export function activitySource(query: ActivityReportQuery): ActivitySource {
  const perDevice = query.device !== undefined || query.groupBy.includes('device');
  if (!perDevice) return 'tenant_aggregates';
  if (!query.groupBy.includes('app')) return 'device_day_totals';
  return query.device !== undefined ? 'aggregates_by_device' : 'aggregates_by_tenant';
}

function sourceFilter(tenant: string, query: ActivityReportQuery): RawBuilder<unknown> {
  const range = sql`day between ${query.from}::date and ${query.to}::date`;
  switch (activitySource(query)) {
    case 'device_day_totals':
      return query.device !== undefined
        ? sql`device_day_totals where device_id = ${query.device} and tenant_id = ${tenant} and ${range}`
        : sql`device_day_totals where tenant_id = ${tenant} and ${range}`;
    case 'aggregates_by_device':
      return sql`aggregates where device_id = ${query.device} and tenant_id = ${tenant} and ${range}`;
    case 'aggregates_by_tenant':
      return sql`aggregates where tenant_id = ${tenant} and ${range}`;
    case 'tenant_aggregates':
      return sql`tenant_aggregates where tenant_id = ${tenant} and ${range}`;
  }
}

/**
 * The generation of the data an activity report reads: the row count and newest `updated_at`
 * over the range, read through the same index as the report. The analytics consumer sets
 * `updated_at` on every row it writes, so any change to the rows changes it (a deleted row
 * changes the count). A tenant report by device and app reads the tenant's sums for this
 * instead of its ~days × devices × apps rows: every change to a device row changes the sums
 * of its (day, app), or their device count, in the same transaction.
 *
 * @param db - the database.
 * @param tenant - the tenant.
 * @param query - the parsed query.
 * @returns an opaque text that changes when the report's data does.
 */
export async function activityGeneration(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  query: ActivityReportQuery,
): Promise<string> {
  const source =
    activitySource(query) === 'aggregates_by_tenant'
      ? sql`tenant_aggregates where tenant_id = ${tenant}
          and day between ${query.from}::date and ${query.to}::date`
      : sourceFilter(tenant, query);
  const result = await sql<{ rows: number; newest: string | null }>`
    select count(*)::bigint as rows,
      to_char(max(updated_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as newest
    from ${source}`.execute(db);
  const row = result.rows[0];
  return `${row?.rows ?? 0}@${row?.newest ?? '-'}`;
}

const PERIOD_FORMAT = { month: 'YYYY-MM', year: 'YYYY' } as const;

interface GroupKey {
  readonly name: 'day' | 'device_id' | 'app';
  readonly expression: RawBuilder<unknown>;
}

function groupKeys(query: ActivityReportQuery): GroupKey[] {
  return query.groupBy.map((key): GroupKey => {
    if (key === 'day') {
      // By day the column itself, so the (…, day) indexes give the order; by month or year a
      // literal format, not a parameter: the select list and GROUP BY must match exactly.
      const expression =
        query.period === 'day'
          ? sql.ref('day')
          : sql`to_char(day, ${sql.lit(PERIOD_FORMAT[query.period])})`;
      return { name: 'day', expression };
    }
    return key === 'device'
      ? { name: 'device_id', expression: sql.ref('device_id') }
      : { name: 'app', expression: sql.ref('app') };
  });
}

function addDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** The last day of the period that holds `day`, or `to` if that comes first. */
function bucketEnd(day: string, period: ActivityReportQuery['period'], to: string): string {
  const [year, month] = day.split('-').map(Number) as [number, number];
  const end =
    period === 'day'
      ? day
      : period === 'month'
        ? new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10)
        : `${year}-12-31`;
  return end < to ? end : to;
}

interface SummedRow {
  day?: string;
  device_id?: string;
  app?: string;
  active_ms: number;
  idle_ms: number;
  launches: number;
  bytes_in: number;
  bytes_out: number;
}

/** Options of {@link activityReportBody}. */
export interface ActivityReportBodyOptions {
  /**
   * Rows read per query (keyset pages, so each page starts where the last ended).
   * @default 1000
   */
  readonly pageSize?: number;
}

/**
 * The activity report's body: its rows read in keyset pages ordered by day, device, app (each
 * one that is grouped by), so a report of any size is streamed in bounded memory. Fields the
 * report is not grouped by are `null`.
 *
 * @param db - the database.
 * @param tenant - the tenant (already authorized).
 * @param query - the parsed query.
 * @param options - page size.
 * @returns the body for `answerReport`.
 * @example
 * ```ts
 * return answerReport(activityReportBody(db, 'acme', query), { format: query.format, etag, cache, cacheKey });
 * ```
 */
export function activityReportBody(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  query: ActivityReportQuery,
  options: ActivityReportBodyOptions = {},
): ReportBody<ActivityReportRow> {
  const pageSize = options.pageSize ?? 1000;
  const keys = groupKeys(query);
  const select = sql.join(keys.map((key) => sql`${key.expression} as ${sql.ref(key.name)}`));
  const groupBy = sql.join(keys.map((key) => key.expression));
  const keyNames = sql.join(keys.map((key) => sql.ref(key.name)));
  const source = sourceFilter(tenant, query);
  async function* window(start: string, end: string): AsyncGenerator<ActivityReportRow[]> {
    let last: unknown[] | undefined;
    for (;;) {
      const after = last === undefined ? sql`` : sql`and (${groupBy}) > (${sql.join(last)})`;
      const result = await sql<SummedRow>`
        select ${select},
          sum(active_ms)::bigint as active_ms, sum(idle_ms)::bigint as idle_ms,
          sum(launches)::bigint as launches, sum(bytes_in)::bigint as bytes_in,
          sum(bytes_out)::bigint as bytes_out
        from ${source} and day between ${start}::date and ${end}::date ${after}
        group by ${groupBy}
        order by ${keyNames}
        limit ${pageSize}`.execute(db);
      yield result.rows.map(toActivityRow);
      const tail = result.rows.at(-1);
      if (result.rows.length < pageSize || tail === undefined) return;
      last = keys.map((key) => tail[key.name]);
    }
  }
  // Grouped by day, the range is read one period (day, month, year) at a time, skipping
  // periods without rows: each query then groups one period's rows, not everything after the
  // last page, so a long report costs time in proportion to its rows.
  async function* pages(): AsyncGenerator<ActivityReportRow[], void, undefined> {
    const byPeriod = keys[0]?.name === 'day';
    let buffered: ActivityReportRow[] = [];
    let start: string | undefined = query.from;
    while (start !== undefined) {
      const end: string = byPeriod ? bucketEnd(start, query.period, query.to) : query.to;
      let found = false;
      for await (const rows of window(start, end)) {
        found ||= rows.length > 0;
        buffered = buffered.concat(rows);
        if (buffered.length >= pageSize) {
          yield buffered;
          buffered = [];
        }
      }
      if (!byPeriod || end >= query.to) break;
      if (found) {
        start = addDay(end);
      } else {
        const next: { rows: { day: string | null }[] } = await sql<{ day: string | null }>`
          select min(day) as day from ${source} and day > ${end}::date`.execute(db);
        start = next.rows[0]?.day ?? undefined;
      }
    }
    yield buffered;
  }
  return {
    head: { from: query.from, to: query.to },
    rowsKey: 'rows',
    columns: ACTIVITY_COLUMNS,
    toJson: (row) => row,
    toCsv: (row) => ACTIVITY_COLUMNS.map((column) => row[column]),
    pages: pages(),
  };
}

const ACTIVITY_COLUMNS = [
  'day',
  'deviceId',
  'app',
  'activeMs',
  'idleMs',
  'launches',
  'bytesIn',
  'bytesOut',
] as const satisfies readonly (keyof ActivityReportRow)[];

function toActivityRow(row: SummedRow): ActivityReportRow {
  return {
    day: row.day ?? null,
    deviceId: row.device_id ?? null,
    app: row.app ?? null,
    activeMs: Number(row.active_ms),
    idleMs: Number(row.idle_ms),
    launches: Number(row.launches),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
  };
}
