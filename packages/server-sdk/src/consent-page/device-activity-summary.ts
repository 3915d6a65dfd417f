import {
  activityReportQuerySchema,
  type ConsentPageActivityQuery,
  type ConsentPageActivityResponse,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { validate } from '../http/json-body.js';
import { activityReportBody } from '../reports/activity-report.js';

/**
 * What was collected about one device over a range of days, as the analytics consumer summed
 * it: per day and application, active and idle time, launches and network volume. It reads the
 * aggregates through the activity report (the same query `GET /v1/reports/activity?device=`
 * runs, with its 400-day limit), never the events, so no window title or other content of an
 * event can reach the page.
 *
 * @param db - the database.
 * @param session - the device and its tenant.
 * @param range - the days, in the tenant's calendar.
 * @returns the rows, ordered by day then application.
 * @throws {@link HttpError} `invalid_request` for a range the report refuses (backwards, too long).
 * @example
 * ```ts
 * await deviceActivitySummary(db, session, { from: '2026-06-01', to: '2026-06-07' });
 * ```
 */
export async function deviceActivitySummary(
  db: Kysely<FieldlineDatabase>,
  session: { readonly tenantId: string; readonly deviceId: string },
  range: ConsentPageActivityQuery,
): Promise<ConsentPageActivityResponse> {
  const query = validate(
    { from: range.from, to: range.to, device: session.deviceId, groupBy: 'day,app' },
    activityReportQuerySchema,
  );
  const body = activityReportBody(db, session.tenantId, query);
  const rows: ConsentPageActivityResponse['rows'] = [];
  for await (const page of body.pages) {
    for (const row of page) {
      rows.push({
        day: row.day ?? range.from,
        app: row.app ?? '',
        activeMs: row.activeMs,
        idleMs: row.idleMs,
        launches: row.launches,
        bytesIn: row.bytesIn,
        bytesOut: row.bytesOut,
      });
    }
  }
  return { from: query.from, to: query.to, rows };
}
