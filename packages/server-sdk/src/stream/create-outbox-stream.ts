import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { consumeOutboxBatch } from './consume-outbox-batch.js';
import type {
  EventStream,
  StreamConsumerHandle,
  StreamHandler,
  StreamLag,
} from './event-stream.js';
import { createOutboxHorizon } from './outbox-horizon.js';

/** Where an error reported by {@link createOutboxStream} came from. */
export interface OutboxStreamErrorContext {
  /** The consumer that met it. */
  readonly consumer: string;
  /** The record whose handler threw; absent for a database error. */
  readonly seq?: number;
  /** How many times that record has failed in a row in this process. */
  readonly attempts?: number;
}

/** Options of {@link createOutboxStream}. */
export interface OutboxStreamOptions {
  /** The Fieldline database (PostgreSQL or PGlite), migrated. */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * Time source for retry backoff and lag ages.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Pause between polls of an idle consumer, in ms. A consumer whose batch came full polls
   * again at once.
   * @default 250
   */
  readonly pollIntervalMs?: number;
  /**
   * Most records per batch (one transaction).
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Backoff before a record whose handler threw is offered again, in ms; doubled after each
   * further failure of the same record, up to `maxRetryDelayMs`.
   * @default 1000
   */
  readonly retryDelayMs?: number;
  /**
   * Longest backoff, in ms.
   * @default 60000
   */
  readonly maxRetryDelayMs?: number;
  /**
   * Told of every handler throw and database error; consumers keep running either way.
   * @default ignores them
   */
  readonly onError?: (error: unknown, context: OutboxStreamErrorContext) => void;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer.`, { [name]: value });
  }
  return value;
}

/**
 * The embedded event stream: the `outbox` table is the stream (nothing else to run), and each
 * durable named consumer's position is a row of `stream_consumers`.
 *
 * Guarantees:
 * - **At least once, in seq order.** A poll takes the consumer's row `for update skip locked`,
 *   reads the next `batchSize` outbox rows after its position, hands them to the handler one by
 *   one and advances the position in the same commit (with the handler's writes through
 *   `delivery.db`). A crash before the commit redelivers the batch; handlers must therefore be
 *   idempotent, by `payload.batchId` for `events.ingested`.
 * - **Shared work.** Processes (or handles) running the same name never handle one record at
 *   the same time: the one holding the row works, the others skip until their next poll.
 * - **A throw is retried, nothing after it skipped.** The records before it commit, the failing
 *   record's writes roll back, `onError` is told, and that record is offered again after a
 *   backoff of `retryDelayMs`, doubling up to `maxRetryDelayMs`.
 * - **No hole skipped.** Outbox seqs are taken at insert but committed in any order, so a reader
 *   that saw seq 11 while seq 10 was still in flight must not step past 10. A row is delivered
 *   only when it directly follows the position or when its seq is known final: after reading
 *   the highest seq H, the stream waits (without blocking writers) until every transaction that
 *   held the outbox insert lock at that moment has ended; then every seq ≤ H is committed or
 *   will never exist (rolled back), and the consumer steps over the holes below H.
 *
 * @param options - database, clock, polling and retry settings.
 * @returns the stream.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a size or
 *   interval that is not a positive integer.
 * @example
 * ```ts
 * const stream = createOutboxStream({ db });
 * const analytics = stream.consume('analytics', async (record, { db }) => {
 *   if (record.topic === 'events.ingested') await aggregate(db, record.payload);
 * });
 * console.log(await stream.lag('analytics'));
 * await stream.close();
 * ```
 */
export function createOutboxStream(options: OutboxStreamOptions): EventStream {
  const { db } = options;
  const clock = options.clock ?? systemClock;
  const pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs ?? 250);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const retryDelayMs = positiveInteger('retryDelayMs', options.retryDelayMs ?? 1000);
  const maxRetryDelayMs = positiveInteger('maxRetryDelayMs', options.maxRetryDelayMs ?? 60_000);
  const onError = options.onError ?? (() => undefined);
  const horizon = createOutboxHorizon(db);
  const handles = new Set<StreamConsumerHandle>();
  let closed = false;

  const report = (error: unknown, context: OutboxStreamErrorContext): void => {
    try {
      onError(error, context);
    } catch {
      // A failing error listener must not stop the consumer.
    }
  };

  function consume(name: string, handler: StreamHandler): StreamConsumerHandle {
    if (closed) throw new InvalidArgumentError('The stream is closed.', { name });
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new InvalidArgumentError('A consumer name is 1 to 200 characters.', { name });
    }
    let stopping = false;
    let registered = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running: Promise<void> | undefined;
    let failing: { seq: number; attempts: number; retryAtMs: number } | undefined;

    const attemptOf = (seq: number): number =>
      failing !== undefined && failing.seq === seq ? failing.attempts + 1 : 1;

    async function poll(): Promise<void> {
      if (!registered) {
        await db
          .insertInto('stream_consumers')
          .values({ name })
          .onConflict((conflict) => conflict.column('name').doNothing())
          .execute();
        registered = true;
      }
      while (!stopping) {
        if (failing !== undefined && clock.now() < failing.retryAtMs) return;
        const result = await consumeOutboxBatch({
          db,
          name,
          handler,
          batchSize,
          finalSeq: horizon.finalSeq,
          attemptOf,
        });
        if (result.failure !== undefined) {
          const { seq, error } = result.failure;
          const attempts = attemptOf(seq);
          const delayMs = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (attempts - 1));
          failing = { seq, attempts, retryAtMs: clock.now() + delayMs };
          report(error, { consumer: name, seq, attempts });
          return;
        }
        if (result.handled > 0) failing = undefined;
        if (result.busy) return;
        if (result.blockedAtHole) {
          if (await horizon.advance()) continue;
          return;
        }
        if (!result.full) return;
      }
    }

    const tick = (): void => {
      timer = undefined;
      running = poll()
        .catch((error: unknown) => report(error, { consumer: name }))
        .finally(() => {
          running = undefined;
          if (!stopping) timer = setTimeout(tick, pollIntervalMs);
        });
    };

    const handle: StreamConsumerHandle = {
      name,
      async stop() {
        stopping = true;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        await running;
        handles.delete(handle);
      },
    };
    handles.add(handle);
    tick();
    return handle;
  }

  async function lag(name: string): Promise<StreamLag> {
    const { rows } = await sql<{ position: number; records: number; oldest: Date | null }>`
      with consumer as (
        select coalesce((select position from stream_consumers where name = ${name}), 0) as position
      )
      select consumer.position, count(outbox.seq)::int as records,
        min(outbox.created_at) as oldest
      from consumer left join outbox on outbox.seq > consumer.position
      group by consumer.position`.execute(db);
    const row = rows[0];
    const position = Number(row?.position ?? 0);
    const records = Number(row?.records ?? 0);
    const oldest = row?.oldest ?? null;
    const oldestAgeMs = oldest === null ? 0 : Math.max(0, clock.now() - new Date(oldest).getTime());
    return { consumer: name, position, records, oldestAgeMs };
  }

  return {
    consume,
    lag,
    async close() {
      closed = true;
      await Promise.all([...handles].map((handle) => handle.stop()));
    },
  };
}
