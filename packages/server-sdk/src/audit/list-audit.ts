import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { type AuditEntry, toAuditEntry } from './audit-entry.js';

/** The largest page {@link listAudit} returns. */
export const MAX_AUDIT_PAGE = 1000;

/** Which audit rows {@link listAudit} returns. */
export interface ListAuditOptions {
  /**
   * Only this tenant's rows; null or absent for every tenant's rows and the
   * server-wide ones (the global admin's view).
   *
   * @default null
   */
  readonly tenantId?: string | null;
  /**
   * Only rows after this `seq` (the last `seq` of the previous page).
   *
   * @default 0
   */
  readonly afterSeq?: number;
  /**
   * Most rows to return, 1 to {@link MAX_AUDIT_PAGE}.
   *
   * @default 100
   */
  readonly limit?: number;
}

/**
 * Lists audit rows in `seq` order, one page at a time.
 *
 * @param db - the database.
 * @param options - tenant filter, cursor and page size.
 * @returns up to `limit` rows with `seq > afterSeq`, oldest first.
 * @throws {@link HttpError} `invalid_request` when `limit` is not an integer from 1 to 1000
 *   or `afterSeq` is not a non-negative integer.
 * @example
 * ```ts
 * const page = await listAudit(db, { tenantId: 'acme', afterSeq: lastSeq, limit: 200 });
 * ```
 */
export async function listAudit(
  db: Kysely<FieldlineDatabase>,
  options: ListAuditOptions = {},
): Promise<AuditEntry[]> {
  const limit = options.limit ?? 100;
  const afterSeq = options.afterSeq ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw new HttpError(
      'invalid_request',
      `limit must be an integer from 1 to ${MAX_AUDIT_PAGE}.`,
      {
        details: { limit },
      },
    );
  }
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new HttpError('invalid_request', 'afterSeq must be a non-negative integer.', {
      details: { afterSeq },
    });
  }
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit);
  const tenantId = options.tenantId ?? null;
  if (tenantId !== null) query = query.where('tenant_id', '=', tenantId);
  const rows = await query.execute();
  return rows.map(toAuditEntry);
}
