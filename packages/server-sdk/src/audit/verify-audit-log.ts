import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { AuditCheckpoint } from './audit-checkpoint.js';
import { chainHoldsCheckpoint } from './audit-checkpointer.js';
import type { AuditRow } from './audit-entry.js';
import { AUDIT_GENESIS_HASH, computeAuditHash } from './audit-hash.js';

/** The result of {@link verifyAuditLog}, protocol v1's `AuditVerifyResponse`. */
export interface AuditVerifyResult {
  /**
   * True when every row's hash and link check out, the chain still holds the checkpoint's row
   * unchanged, and the checkpoint store raised no problem.
   */
  readonly ok: boolean;
  /** Rows examined: all of them when the chain holds, else up to and including the first broken one. */
  readonly checked: number;
  /** `seq` of the first row whose hash or link is wrong, or null when the links hold. */
  readonly firstBrokenSeq: number | null;
  /**
   * True when the chain lost or changed the row the checkpoint names: rows at or before the
   * checkpoint were deleted (the head is behind it) or rewritten. Always false without a checkpoint.
   */
  readonly truncated: boolean;
  /** The newest row, or null for an empty log. */
  readonly head: { readonly seq: number; readonly hash: string } | null;
  /** The checkpoint compared with, or null when there is none. */
  readonly checkpoint: { readonly seq: number; readonly hash: string; readonly at: string } | null;
  /** Why the checkpoint store cannot be trusted, or null; when set, `ok` is false. */
  readonly checkpointError: string | null;
}

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditLogOptions {
  /**
   * Rows read per query; memory stays bounded by one page whatever the log's size.
   *
   * @default 1000
   */
  readonly pageSize?: number;
  /**
   * The newest trusted checkpoint (from `AuditCheckpointer.latest`): the chain must still hold
   * its row with its hash, or the result says `truncated`.
   * @default null
   */
  readonly checkpoint?: AuditCheckpoint | null;
  /**
   * A problem with the checkpoint store, reported as `checkpointError` (and `ok: false`).
   * @default null
   */
  readonly checkpointError?: string | null;
}

/**
 * Verifies the audit log's hash chain in `seq` order: each row's `prevHash`
 * must equal the previous row's `hash` (64 zeros for the first row), and its
 * `hash` must equal the hash recomputed from its fields. An edited row breaks
 * its own hash; a re-hashed edit, a deleted row, a reordered or inserted row
 * break the next link. Stops at the first broken row. Removing rows from the
 * end leaves a valid, shorter chain: that is what `checkpoint` catches, a signed
 * `{ seq, hash }` kept apart from the database; the chain must still hold that
 * row with that hash (the hash commits to every earlier row). Rows newer than
 * the checkpoint are covered by the links only.
 *
 * @param db - the database.
 * @param options - page size, checkpoint.
 * @returns whether the chain holds, how many rows were checked, the first broken `seq`,
 *   and whether it was truncated behind the checkpoint.
 * @throws the database error when a query fails.
 * @example
 * ```ts
 * const { checkpoint, error } = await checkpointer.latest();
 * const { ok, truncated } = await verifyAuditLog(db, { checkpoint, checkpointError: error });
 * ```
 */
export async function verifyAuditLog(
  db: Kysely<FieldlineDatabase>,
  options: VerifyAuditLogOptions = {},
): Promise<AuditVerifyResult> {
  const pageSize = options.pageSize ?? 1000;
  const chain = await verifyAuditLinks(db, { pageSize });
  const head = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const checkpoint = options.checkpoint ?? null;
  const truncated = checkpoint !== null && !(await chainHoldsCheckpoint(db, checkpoint));
  const checkpointError = options.checkpointError ?? null;
  return {
    ok: chain.ok && !truncated && checkpointError === null,
    checked: chain.checked,
    firstBrokenSeq: chain.firstBrokenSeq,
    truncated,
    head: head ?? null,
    checkpoint:
      checkpoint === null
        ? null
        : { seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at },
    checkpointError,
  };
}

/** Which part of the chain {@link verifyAuditLinks} checks. @internal */
export interface AuditLinkRange {
  /** Rows per query. */
  readonly pageSize: number;
  /** The first seq to check; its link to the row before it is checked too. @default the first row */
  readonly fromSeq?: number;
  /** The last seq to check. @default the last row */
  readonly toSeq?: number;
}

/**
 * Checks the links and hashes of the audit rows in a seq range, page by page.
 *
 * @param db - the database.
 * @param range - page size and seq bounds.
 * @returns whether every row holds, how many were checked, and the first that does not.
 * @internal
 */
export async function verifyAuditLinks(
  db: Kysely<FieldlineDatabase>,
  range: AuditLinkRange,
): Promise<{ ok: boolean; checked: number; firstBrokenSeq: number | null }> {
  const { pageSize } = range;
  let expectedPrev = AUDIT_GENESIS_HASH;
  let afterSeq = 0;
  if (range.fromSeq !== undefined && range.fromSeq > 1) {
    // The chain continues from the row before the range, whoever's it is: it spans tenants.
    const before = await db
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .where('seq', '<', range.fromSeq)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (before !== undefined) {
      expectedPrev = before.hash;
      afterSeq = before.seq;
    }
  }
  let checked = 0;
  for (;;) {
    let query = db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(pageSize);
    if (range.toSeq !== undefined) query = query.where('seq', '<=', range.toSeq);
    const rows = await query.execute();
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
