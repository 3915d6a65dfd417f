import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { AuditRow } from './audit-entry.js';
import { AUDIT_GENESIS_HASH, computeAuditHash } from './audit-hash.js';

/** The result of {@link verifyAuditLog}, protocol v1's `AuditVerifyResponse`. */
export interface AuditVerifyResult {
  /** True when every row's hash and link check out. */
  readonly ok: boolean;
  /** Rows examined: all of them when `ok`, else up to and including the first broken one. */
  readonly checked: number;
  /** `seq` of the first row whose hash or link is wrong, or null when `ok`. */
  readonly firstBrokenSeq: number | null;
}

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditLogOptions {
  /**
   * Rows read per query; memory stays bounded by one page whatever the log's size.
   *
   * @default 1000
   */
  readonly pageSize?: number;
}

/**
 * Verifies the audit log's hash chain in `seq` order: each row's `prevHash`
 * must equal the previous row's `hash` (64 zeros for the first row), and its
 * `hash` must equal the hash recomputed from its fields. An edited row breaks
 * its own hash; a re-hashed edit, a deleted row, a reordered or inserted row
 * break the next link. Stops at the first broken row. Removing rows from the
 * end leaves a valid, shorter chain: compare the last `hash` with one kept
 * elsewhere to detect truncation.
 *
 * @param db - the database.
 * @param options - page size.
 * @returns whether the chain holds, how many rows were checked and the first broken `seq`.
 * @throws the database error when a query fails.
 * @example
 * ```ts
 * const { ok, firstBrokenSeq } = await verifyAuditLog(db);
 * if (!ok) alert(`audit log altered at seq ${firstBrokenSeq}`);
 * ```
 */
export async function verifyAuditLog(
  db: Kysely<FieldlineDatabase>,
  options: VerifyAuditLogOptions = {},
): Promise<AuditVerifyResult> {
  const pageSize = options.pageSize ?? 1000;
  let expectedPrev = AUDIT_GENESIS_HASH;
  let afterSeq = 0;
  let checked = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      checked += 1;
      if (row.prev_hash !== expectedPrev || recompute(row) !== row.hash) {
        return { ok: false, checked, firstBrokenSeq: row.seq };
      }
      expectedPrev = row.hash;
      afterSeq = row.seq;
    }
    if (rows.length < pageSize) return { ok: true, checked, firstBrokenSeq: null };
  }
}

function recompute(
  row: Pick<
    AuditRow,
    'at' | 'tenant_id' | 'actor' | 'action' | 'subject' | 'details' | 'prev_hash'
  >,
): string | undefined {
  try {
    return computeAuditHash({
      prevHash: row.prev_hash,
      at: row.at.toISOString(),
      tenant: row.tenant_id,
      actor: row.actor,
      action: row.action,
      subject: row.subject,
      details: row.details,
    });
  } catch {
    // A row edited into something that is not plain JSON (or a bad date) cannot match.
    return undefined;
  }
}
