import type { DeadLetter } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { selectDeadLetters, toDeadLetter } from './dead-letter-record.js';

/** The largest page {@link listDeadLetters} returns. */
export const MAX_DEAD_LETTER_PAGE = 500;

/** Where a dead letter's replay stands, as a list filter: `new` was never replayed. */
export type DeadLetterStatusFilter = 'new' | 'replaying' | 'replayed' | 'failed';

/** Which dead letters {@link listDeadLetters} returns. */
export interface ListDeadLettersOptions {
  /**
   * Only this tenant's; null for every tenant's (the operator's view).
   * @default null
   */
  readonly tenantId?: string | null;
  /** Only this device's. */
  readonly deviceId?: string;
  /** Only those whose reason contains this text (case-insensitive). */
  readonly reason?: string;
  /** Only those whose replay stands so. */
  readonly status?: DeadLetterStatusFilter;
  /**
   * Only those after this id: the previous page's `nextCursor`.
   * @default 0
   */
  readonly afterSeq?: number;
  /**
   * Most dead letters to return, 1 to {@link MAX_DEAD_LETTER_PAGE}.
   * @default 100
   */
  readonly limit?: number;
}

/**
 * Lists dead letters oldest first, one page at a time, without their payloads.
 *
 * @param db - the database.
 * @param options - tenant, device, reason and status filters, cursor and page size.
 * @returns the page, and the cursor of the next one (null on the last page).
 * @throws {@link HttpError} `invalid_request` when `limit` or `afterSeq` is out of range.
 * @example
 * ```ts
 * const { deadLetters, nextCursor } = await listDeadLetters(db, { tenantId: 'acme', deviceId });
 * ```
 */
export async function listDeadLetters(
  db: Kysely<FieldlineDatabase>,
  options: ListDeadLettersOptions = {},
): Promise<{ deadLetters: DeadLetter[]; nextCursor: string | null }> {
  const limit = options.limit ?? 100;
  const afterSeq = options.afterSeq ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LETTER_PAGE) {
    throw new HttpError(
      'invalid_request',
      `limit must be an integer from 1 to ${MAX_DEAD_LETTER_PAGE}.`,
      { details: { limit } },
    );
  }
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new HttpError('invalid_request', 'cursor must be a cursor this route returned.', {
      details: { cursor: afterSeq },
    });
  }
  // One row more than asked tells whether another page follows.
  let query = selectDeadLetters(db)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit + 1);
  if (options.tenantId != null) query = query.where('tenant_id', '=', options.tenantId);
  if (options.deviceId !== undefined) query = query.where('device_id', '=', options.deviceId);
  if (options.reason !== undefined && options.reason !== '') {
    query = query.where(sql<boolean>`strpos(lower(reason), lower(${options.reason})) > 0`);
  }
  if (options.status === 'new') query = query.where('replay_status', 'is', null);
  else if (options.status !== undefined) query = query.where('replay_status', '=', options.status);
  const rows = await query.execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    deadLetters: page.map(toDeadLetter),
    nextCursor: rows.length > limit && last !== undefined ? String(last.seq) : null,
  };
}
