import type { ComplianceReportQuery, ComplianceReportRow, ConsentState } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import { loadLatestStates } from '../consent/consent-ledger-store.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ReportBody } from './report-response.js';
import { tenantTimeZone } from './tenant-time-zone.js';

/**
 * The generation of the data a compliance report reads: the consent ledger's last seq (it is
 * append-only), the tenant's latest policy version and time zone, the refusal counts over the
 * range, and the tenant's devices and drop totals.
 *
 * @param db - the database.
 * @param tenant - the tenant.
 * @param query - the parsed query.
 * @returns an opaque text that changes when the report's data does.
 */
export async function complianceGeneration(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  query: ComplianceReportQuery,
): Promise<string> {
  const result = await sql<{ marker: string }>`
    select concat_ws('|',
      (select coalesce(max(seq), 0) from consent_ledger),
      (select coalesce(max(version), 0) from policies where tenant_id = ${tenant}),
      (select time_zone from tenant_settings where tenant_id = ${tenant}),
      (select count(*) || ':' || coalesce(sum(events), 0) from consent_refusals
        where tenant_id = ${tenant} and day between ${query.from}::date and ${query.to}::date),
      (select count(*) || ':' || coalesce(sum(
          (select coalesce(sum(value::bigint), 0) from jsonb_each_text(drops))), 0)
        from devices where tenant_id = ${tenant})
    ) as marker`.execute(db);
  return result.rows[0]?.marker ?? '';
}

function policyVersionOf(state: ConsentState): number | null {
  return state.status === 'unknown' ? null : state.policyVersion;
}

function countsOf(value: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  if (typeof value !== 'object' || value === null) return counts;
  for (const [key, count] of Object.entries(value)) {
    const number = Number(count);
    if (Number.isSafeInteger(number) && number >= 0) counts[key] = number;
  }
  return counts;
}

const COMPLIANCE_COLUMNS = [
  'deviceId',
  'consentStatus',
  'policyVersion',
  'latestPolicyVersion',
  'reconsentPending',
  'grants',
  'withdrawals',
  'refusedEvents',
  'refusedByScope',
  'drops',
] as const satisfies readonly (keyof ComplianceReportRow)[];

/**
 * Builds the compliance report's rows, one per device of the tenant (or the one device asked
 * for), ordered by device id: the consent state now (the latest consent-ledger row, as the
 * device detail shows it), grants and withdrawals recorded over the range's local days, whether
 * a re-consent is pending, refusals over the range (`consent_refusals`) and drop totals.
 * Reads a handful of per-tenant queries, not one per device.
 *
 * @param db - the database.
 * @param tenant - the tenant (already authorized).
 * @param query - the parsed query.
 * @returns the body for `answerReport`.
 * @example
 * ```ts
 * return answerReport(await complianceReportBody(db, 'acme', query), { format: 'csv', etag, cache, cacheKey });
 * ```
 */
export async function complianceReportBody(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  query: ComplianceReportQuery,
): Promise<ReportBody<ComplianceReportRow>> {
  const zone = await tenantTimeZone(db, tenant);
  let devices = db
    .selectFrom('devices')
    .select(['id', 'drops'])
    .where('tenant_id', '=', tenant)
    .orderBy('id');
  if (query.device !== undefined) devices = devices.where('id', '=', query.device);
  const [deviceRows, stateOf, policy, ledger, refusals] = await Promise.all([
    devices.execute(),
    loadLatestStates(db, tenant),
    db
      .selectFrom('policies')
      .select((eb) => eb.fn.max('version').as('version'))
      .where('tenant_id', '=', tenant)
      .executeTakeFirst(),
    sql<{ device_id: string; grants: number; withdrawals: number }>`
      select device_id,
        count(*) filter (where event->>'type' = 'grant')::bigint as grants,
        count(*) filter (where event->>'type' = 'withdraw')::bigint as withdrawals
      from consent_ledger
      where tenant_id = ${tenant}
        and (at at time zone ${zone})::date between ${query.from}::date and ${query.to}::date
      group by device_id`.execute(db),
    sql<{ device_id: string; scope: string; events: number }>`
      select device_id, scope, sum(events)::bigint as events
      from consent_refusals
      where tenant_id = ${tenant} and day between ${query.from}::date and ${query.to}::date
      group by device_id, scope`.execute(db),
  ]);
  const latestPolicyVersion = policy?.version ?? null;
  const ledgerOf = new Map(ledger.rows.map((row) => [row.device_id, row]));
  const refusedOf = new Map<string, Record<string, number>>();
  for (const row of refusals.rows) {
    const scopes = refusedOf.get(row.device_id) ?? {};
    scopes[row.scope] = Number(row.events);
    refusedOf.set(row.device_id, scopes);
  }
  const rows = deviceRows.map((device): ComplianceReportRow => {
    const state = stateOf(device.id);
    const policyVersion = policyVersionOf(state);
    const refusedByScope = refusedOf.get(device.id) ?? {};
    const counts = ledgerOf.get(device.id);
    return {
      deviceId: device.id,
      consentStatus: state.status,
      policyVersion,
      latestPolicyVersion,
      reconsentPending:
        state.status === 'pending' ||
        (latestPolicyVersion !== null &&
          (policyVersion === null || policyVersion < latestPolicyVersion)),
      grants: Number(counts?.grants ?? 0),
      withdrawals: Number(counts?.withdrawals ?? 0),
      refusedEvents: Object.values(refusedByScope).reduce((sum, count) => sum + count, 0),
      refusedByScope,
      drops: countsOf(device.drops),
    };
  });
  async function* pages(): AsyncGenerator<ComplianceReportRow[], void, undefined> {
    yield rows;
  }
  return {
    head: { from: query.from, to: query.to },
    rowsKey: 'rows',
    columns: COMPLIANCE_COLUMNS,
    toJson: (row) => row,
    // Per-scope and per-reason counts go in one cell each, as JSON.
    toCsv: (row) =>
      COMPLIANCE_COLUMNS.map((column) => {
        const value = row[column];
        return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
      }),
    pages: pages(),
  };
}
