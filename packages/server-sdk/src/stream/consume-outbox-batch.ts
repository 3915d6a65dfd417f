import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createDeferredWorkQueue } from './deferred-work.js';
import type { StreamHandler, StreamRecord } from './event-stream.js';

/** What {@link consumeOutboxBatch} needs. @internal */
export interface OutboxBatchOptions {
  readonly db: Kysely<FieldlineDatabase>;
  readonly name: string;
  readonly handler: StreamHandler;
  readonly batchSize: number;
  /** Every outbox seq up to this one is final (see `OutboxHorizon`). */
  readonly finalSeq: number;
  /** The attempt number to report for a record. */
  readonly attemptOf: (seq: number) => number;
}

/** What one batch did. @internal */
export interface OutboxBatchResult {
  /** Another process holds this consumer's row: it is working a batch. */
  readonly busy: boolean;
  /** Records handled and committed. */
  readonly handled: number;
  /** The batch stopped at a hole that may still fill. */
  readonly blockedAtHole: boolean;
  /** The batch was full: more may be waiting. */
  readonly full: boolean;
  /** The record whose handler threw, and the error. */
  readonly failure?: { readonly seq: number; readonly error: unknown };
}

/**
 * Works one batch of a named consumer in one transaction: takes the consumer's row
 * `for update skip locked` (a process sharing the name that holds it wins; this one reports
 * `busy`), reads up to `batchSize` outbox rows after its position, hands each to the handler
 * inside a savepoint, stops at a hole that is not final or at the first throw (that record's
 * writes are rolled back), runs the work the handled records deferred, and advances the position past what was handled, in the same commit
 * as the handler's writes. A crash before the commit redelivers the whole batch.
 *
 * @internal
 */
export async function consumeOutboxBatch(options: OutboxBatchOptions): Promise<OutboxBatchResult> {
  const { name, handler, batchSize, finalSeq, attemptOf } = options;
  return options.db.transaction().execute(async (trx) => {
    const consumer = await trx
      .selectFrom('stream_consumers')
      .select('position')
      .where('name', '=', name)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (consumer === undefined) {
      return { busy: true, handled: 0, blockedAtHole: false, full: false };
    }
    const rows = await trx
      .selectFrom('outbox')
      .select(['seq', 'tenant_id', 'topic', 'payload', 'created_at'])
      .where('seq', '>', consumer.position)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    let position = consumer.position;
    const deferred = createDeferredWorkQueue();
    let blockedAtHole = false;
    let failure: OutboxBatchResult['failure'];
    for (const row of rows) {
      if (row.seq !== position + 1 && row.seq > finalSeq) {
        blockedAtHole = true;
        break;
      }
      const record: StreamRecord = {
        seq: row.seq,
        tenantId: row.tenant_id,
        topic: row.topic,
        payload: row.payload,
        createdAt: row.created_at,
      };
      await sql`savepoint stream_record`.execute(trx);
      try {
        await handler(record, {
          consumer: name,
          attempt: attemptOf(row.seq),
          db: trx,
          deferUntilCommit: deferred.defer,
        });
      } catch (error) {
        await sql`rollback to savepoint stream_record`.execute(trx);
        deferred.drop();
        failure = { seq: row.seq, error };
        break;
      }
      await sql`release savepoint stream_record`.execute(trx);
      deferred.keep();
      position = row.seq;
    }
    // What the handled records left for the end of the batch; a throw rolls it all back.
    await deferred.run(trx);
    const handled = rows.findIndex((row) => row.seq > position);
    if (position !== consumer.position) {
      await trx
        .updateTable('stream_consumers')
        .set({ position, updated_at: sql<Date>`now()` })
        .where('name', '=', name)
        .execute();
    }
    return {
      busy: false,
      handled: handled === -1 ? rows.length : handled,
      blockedAtHole,
      full: rows.length === batchSize,
      ...(failure === undefined ? {} : { failure }),
    };
  });
}
