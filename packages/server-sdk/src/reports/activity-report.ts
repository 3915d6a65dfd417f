import type { ActivityReportQuery, ActivityReportRow } from '@fieldline/core';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ReportBody } from './report-response.js';

/** Where an activity report reads from, chosen by its query (docs/analytics.md). */
export type ActivitySource = 'tenant_aggregates' | 'aggregates_by_device' | 'aggregates_by_tenant';

/**
 * Picks the table and index a report reads: one device's rows through `aggregates`' primary
 * key; per-device rows of a tenant through `aggregates (tenant_id, day)`; anything else from
 * the per-tenant sums in `tenant_aggregates`, which hold days × apps rows however many devices
 * the tenant has.
 *
 * @param query - the parsed query.
 * @returns the source.
 */
export function activitySource(query: ActivityReportQuery): ActivitySource {
  if (query.device !== undefined) return 'aggregates_by_device';
  return query.groupBy.includes('device') ? 'aggregates_by_tenant' : 'tenant_aggregates';
}

function sourceFilter(tenant: string, query: ActivityReportQuery): RawBuilder<unknown> {
  const range = sql`day between ${query.from}::date and ${query.to}::date`;
  switch (activitySource(query)) {
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
 * changes the count).
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
  const result = await sql<{ rows: number; newest: string | null }>`
    select count(*)::bigint as rows,
      to_char(max(updated_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as newest
    from ${sourceFilter(tenant, query)}`.execute(db);
  const row = result.rows[0];
  return `${row?.rows ?? 0}@${row?.newest ?? '-'}`;
}

const PERIOD_FORMAT = { day: 'YYYY-MM-DD', month: 'YYYY-MM', year: 'YYYY' } as const;

interface GroupKey {
  readonly name: 'day' | 'device_id' | 'app';
  readonly expression: RawBuilder<unknown>;
  /** A lower bound on the underlying column for keyset pages after `last`. */
  lowerBound(last: string): RawBuilder<unknown>;
}

function groupKeys(query: ActivityReportQuery): GroupKey[] {
  const keys: GroupKey[] = [];
  for (const key of query.groupBy) {
    if (key === 'day') {
      keys.push({
        name: 'day',
        expression: sql`to_char(day, ${PERIOD_FORMAT[query.period]})`,
        // `2026-03` starts on 2026-03-01 and `2026` on 2026-01-01: rows after the last bucket
        // are on or after its first day, which the (…, day) indexes can seek to.
        lowerBound: (last) =>
          sql`day >= ${`${last}${query.period === 'day' ? '' : query.period === 'month' ? '-01' : '-01-01'}`}::date`,
      });
    } else if (key === 'device') {
      keys.push({
        name: 'device_id',
        expression: sql.ref('device_id'),
        lowerBound: (last) => sql`device_id >= ${last}`,
      });
    } else {
      keys.push({
        name: 'app',
        expression: sql.ref('app'),
        lowerBound: (last) => sql`app >= ${last}`,
      });
    }
  }
  return keys;
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
  async function* pages(): AsyncGenerator<ActivityReportRow[], void, undefined> {
    let last: string[] | undefined;
    for (;;) {
      const after =
        last === undefined
          ? sql``
          : sql`and (${groupBy}) > (${sql.join(last)}) and ${keys[0]!.lowerBound(last[0]!)}`;
      const result = await sql<SummedRow>`
        select ${select},
          sum(active_ms)::bigint as active_ms, sum(idle_ms)::bigint as idle_ms,
          sum(launches)::bigint as launches, sum(bytes_in)::bigint as bytes_in,
          sum(bytes_out)::bigint as bytes_out
        from ${source} ${after}
        group by ${groupBy}
        order by ${keyNames}
        limit ${pageSize}`.execute(db);
      yield result.rows.map(toActivityRow);
      const tail = result.rows.at(-1);
      if (result.rows.length < pageSize || tail === undefined) return;
      last = keys.map((key) => String(tail[key.name]));
    }
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
