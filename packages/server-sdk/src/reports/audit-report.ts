import type { AuditRangeVerification, AuditReportEntry, AuditReportQuery } from '@fieldline/core';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { verifyAuditLinks } from '../audit/verify-audit-log.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ReportBody } from './report-response.js';
import { tenantTimeZone } from './tenant-time-zone.js';

/** What an audit report covers, and the chain check over it. */
interface AuditReportScope {
  readonly filter: RawBuilder<unknown>;
  readonly verification: AuditRangeVerification;
}

async function auditReportScope(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  query: AuditReportQuery,
  pageSize: number,
): Promise<AuditReportScope> {
  const zone = await tenantTimeZone(db, tenant);
  const filter = sql`tenant_id = ${tenant}
    and (at at time zone ${zone})::date between ${query.from}::date and ${query.to}::date
    ${query.action === undefined ? sql`` : sql`and action = ${query.action}`}
    ${query.actor === undefined ? sql`` : sql`and actor = ${query.actor}`}`;
  const bounds = await sql<{ first: number | null; last: number | null }>`
    select min(seq) as first, max(seq) as last from audit_log where ${filter}`.execute(db);
  const fromSeq = bounds.rows[0]?.first ?? null;
  const toSeq = bounds.rows[0]?.last ?? null;
  const links =
    fromSeq === null || toSeq === null
      ? { ok: true, checked: 0, firstBrokenSeq: null }
      : await verifyAuditLinks(db, { pageSize, fromSeq, toSeq });
  return {
    filter,
    verification: {
      ok: links.ok,
      checked: links.checked,
      firstBrokenSeq: links.firstBrokenSeq,
      fromSeq,
      toSeq,
    },
  };
}

/**
 * The chain check of an audit report's range, as its generation: the entries' seq bounds and
 * the check's outcome. The check runs on every request (it reads the range's rows), so a row
 * changed in place, which leaves the seqs as they were, changes the ETag and is never hidden
 * by a 304 or the cache.
 *
 * @param db - the database.
 * @param tenant - the tenant.
 * @param query - the parsed query.
 * @param options - page size.
 * @returns an opaque text that changes when the report's data does.
 */
export async function auditGeneration(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  query: AuditReportQuery,
  options: AuditReportBodyOptions = {},
): Promise<string> {
  const { verification } = await auditReportScope(db, tenant, query, options.pageSize ?? 1000);
  return JSON.stringify(verification);
}

/** Options of {@link auditReportBody}. */
export interface AuditReportBodyOptions {
  /**
   * Rows read per query, for the entries and for the chain check.
   * @default 1000
   */
  readonly pageSize?: number;
}

const AUDIT_COLUMNS = [
  'seq',
  'at',
  'actor',
  'action',
  'subject',
  'details',
] as const satisfies readonly (keyof AuditReportEntry)[];

/**
 * The audit report's body: the tenant's audit entries whose `at` falls on the range's local
 * days (optionally of one `action` and one `actor`), in seq order, read in keyset pages; and
 * the hash-chain check of every row from the first entry's seq to the last one's (the chain
 * spans every tenant, so rows of others between them are checked but never shown). In CSV the
 * check travels in the `fieldline-audit-verified` and `fieldline-audit-first-broken-seq`
 * headers.
 *
 * @param db - the database.
 * @param tenant - the tenant (already authorized).
 * @param query - the parsed query.
 * @param options - page size.
 * @returns the body for `answerReport`.
 * @example
 * ```ts
 * return answerReport(await auditReportBody(db, 'acme', query), { format: 'json', etag, cache, cacheKey });
 * ```
 */
export async function auditReportBody(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  query: AuditReportQuery,
  options: AuditReportBodyOptions = {},
): Promise<ReportBody<AuditReportEntry>> {
  const pageSize = options.pageSize ?? 1000;
  const { filter, verification } = await auditReportScope(db, tenant, query, pageSize);
  const { fromSeq } = verification;
  async function* pages(): AsyncGenerator<AuditReportEntry[], void, undefined> {
    if (fromSeq === null) return;
    let afterSeq = fromSeq - 1;
    for (;;) {
      const result = await sql<{
        seq: number;
        at: Date;
        actor: string;
        action: string;
        subject: string | null;
        details: Record<string, unknown>;
      }>`
        select seq, at, actor, action, subject, details from audit_log
        where ${filter} and seq > ${afterSeq}
        order by seq limit ${pageSize}`.execute(db);
      yield result.rows.map((row) => ({
        seq: Number(row.seq),
        at: row.at.toISOString(),
        actor: row.actor,
        action: row.action,
        subject: row.subject,
        details: row.details,
      }));
      const tail = result.rows.at(-1);
      if (result.rows.length < pageSize || tail === undefined) return;
      afterSeq = Number(tail.seq);
    }
  }
  return {
    head: { from: query.from, to: query.to, verification },
    rowsKey: 'entries',
    columns: AUDIT_COLUMNS,
    toJson: (entry) => entry,
    toCsv: (entry) =>
      AUDIT_COLUMNS.map((column) =>
        column === 'details' ? JSON.stringify(entry.details) : entry[column],
      ),
    headers: {
      'fieldline-audit-verified': String(verification.ok),
      ...(verification.firstBrokenSeq === null
        ? {}
        : { 'fieldline-audit-first-broken-seq': String(verification.firstBrokenSeq) }),
    },
    pages: pages(),
  };
}
