import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * One record of the event stream: an outbox row as consumers see it. For the topic
 * `events.ingested`, `payload` is an `EventsIngestedMessage`, one per stored batch.
 */
export interface StreamRecord {
  /** The stream sequence: the outbox `seq`. Increases along the stream; may have holes. */
  readonly seq: number;
  /** The tenant the record belongs to. */
  readonly tenantId: string;
  /** The topic, e.g. `events.ingested`. */
  readonly topic: string;
  /** The message, as written to the outbox. Parse it (zod) before trusting its shape. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** When the record was written. */
  readonly createdAt: Date;
}

/** What a handler is told besides the record. */
export interface StreamDelivery {
  /** The consumer's name. */
  readonly consumer: string;
  /**
   * How many times this process has offered this record, 1 on the first offer. Another process
   * sharing the name, or a restart, starts counting again: it is a hint, not a ledger.
   */
  readonly attempt: number;
  /**
   * The database to write the handler's effects with. In the embedded stream it is the
   * consumer's own transaction, so the effects commit together with the consumer's position
   * (and roll back with a throw); a handler must not use another connection to the same PGlite,
   * which the transaction holds.
   */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * Runs `work` once per `key`, after the handler has seen every record of the batch in hand
   * and before the batch commits, in the same transaction. A handler uses it to do once what
   * several records of a batch need (the analytics consumer recomputes a device's days once per
   * batch, not once per record), so a consumer that falls behind catches up in bigger, cheaper
   * batches. The first registration of a key wins; keys run in sorted order. Work registered by
   * a record whose handler throws is dropped with that record. A throw from the work rolls the
   * whole batch back, and it is redelivered. (On NATS JetStream each record is its own batch.)
   *
   * @param key - what the work is about, e.g. `analytics:<deviceId>`.
   * @param work - called with the batch's transaction.
   * @example
   * ```ts
   * delivery.deferUntilCommit(`analytics:${deviceId}`, (db) => recompute(db, deviceId));
   * ```
   */
  deferUntilCommit(key: string, work: (db: Kysely<FieldlineDatabase>) => Promise<void>): void;
}

/**
 * Handles one record. Returning normally acknowledges it; throwing asks for redelivery of this
 * record later, with backoff, and reports the error. Delivery is at least once, so a handler
 * must be idempotent (for `events.ingested`, by `payload.batchId`).
 */
export type StreamHandler = (
  record: StreamRecord,
  delivery: StreamDelivery,
) => Promise<void> | void;

/** A running consumer, from {@link EventStream.consume}. */
export interface StreamConsumerHandle {
  /** The consumer's name. */
  readonly name: string;
  /**
   * Stops polling and resolves once the batch in flight, if any, has committed or rolled back.
   *
   * @example
   * ```ts
   * await handle.stop();
   * ```
   */
  stop(): Promise<void>;
}

/** How far a consumer is behind the stream. */
export interface StreamLag {
  /** The consumer's name. */
  readonly consumer: string;
  /** Its committed position (the last stream seq it has acknowledged, 0 before any). */
  readonly position: number;
  /** Records in the stream after its position. */
  readonly records: number;
  /** Age of the oldest of those records, in ms (0 when there is none). */
  readonly oldestAgeMs: number;
}

/**
 * The event stream: durable, named consumers read its records at least once, in stream order,
 * sharing the work when several processes run the same name. The embedded implementation is
 * {@link createOutboxStream} (the outbox table is the stream); a NATS JetStream implementation
 * maps a name to a durable pull consumer with explicit acks, a throw to a `nak` with a delay,
 * and the lag to the consumer's pending count.
 */
export interface EventStream {
  /**
   * Starts a durable consumer. Its position survives restarts; every process that consumes the
   * same name shares that one position, and no two of them handle a record at the same time.
   *
   * @param name - the consumer's durable name (1–200 characters).
   * @param handler - called once per record, in stream order.
   * @returns a handle to stop it.
   * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a bad name,
   *   or when the stream is closed.
   * @example
   * ```ts
   * const handle = stream.consume('analytics', async (record, { db }) => { … });
   * ```
   */
  consume(name: string, handler: StreamHandler): StreamConsumerHandle;
  /**
   * How far the named consumer is behind.
   *
   * @param name - the consumer's name (a name never consumed is at position 0).
   * @returns the records behind and the age of the oldest one.
   * @example
   * ```ts
   * const { records, oldestAgeMs } = await stream.lag('analytics');
   * ```
   */
  lag(name: string): Promise<StreamLag>;
  /**
   * Stops every consumer this stream started (waiting for their batches in flight). The
   * database is the caller's and stays open.
   *
   * @example
   * ```ts
   * await stream.close();
   * ```
   */
  close(): Promise<void>;
}
