import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createDeferredWorkQueue } from './deferred-work.js';
import type {
  EventStream,
  StreamConsumerHandle,
  StreamHandler,
  StreamLag,
  StreamRecord,
} from './event-stream.js';
import { loadNatsModules, type NatsModules } from './nats-modules.js';
import { decodeRecord, outboxMessageId, RECORD_HEADERS } from './nats-record.js';
import type { OutboxPublisher } from './outbox-publisher.js';
import { recordSubject } from './stream-subject.js';

/** Where an error reported by {@link createJetStreamStream} came from. */
export interface JetStreamErrorContext {
  /** The consumer that met it; absent for the connection or a publish. */
  readonly consumer?: string;
  /** The record concerned (its outbox seq), when there is one. */
  readonly seq?: number;
  /** How many times JetStream has delivered that record. */
  readonly attempts?: number;
}

/** Options of {@link createJetStreamStream}. */
export interface JetStreamStreamOptions {
  /** The Fieldline database: handlers write through a transaction on it. */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * The NATS servers, e.g. `nats://127.0.0.1:4222`.
   * @default 'nats://127.0.0.1:4222'
   */
  readonly servers?: string | readonly string[];
  /**
   * The JetStream stream's name (created if missing, capturing `<subjectPrefix>.>`).
   * @default 'FIELDLINE'
   */
  readonly stream?: string;
  /**
   * The first subject token(s); a record goes to `<prefix>.<topic>.<tenant>`.
   * @default 'fieldline'
   */
  readonly subjectPrefix?: string;
  /**
   * How long JetStream waits for an ack before redelivering, in ms. A handler that may run
   * longer than this is handled twice (at least once, still).
   * @default 30000
   */
  readonly ackWaitMs?: number;
  /**
   * Records a consumer may hold unacknowledged across all its processes.
   * @default 1000
   */
  readonly maxAckPending?: number;
  /**
   * Records a process pulls at a time.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Delay before a record whose handler threw is redelivered, in ms; doubled after each
   * further failure of that record, up to `maxRetryDelayMs`.
   * @default 1000
   */
  readonly retryDelayMs?: number;
  /**
   * Longest redelivery delay, in ms.
   * @default 60000
   */
  readonly maxRetryDelayMs?: number;
  /**
   * JetStream's deduplication window for `Nats-Msg-Id`, in ms, set when the stream is created:
   * a relay that republishes within it after a crash adds nothing.
   * @default 600000
   */
  readonly duplicateWindowMs?: number;
  /**
   * Longest wait for a PubAck, in ms.
   * @default 5000
   */
  readonly publishTimeoutMs?: number;
  /**
   * Pause before reconnecting a consumer or the connection after a failure, in ms.
   * @default 1000
   */
  readonly reconnectDelayMs?: number;
  /**
   * Time source for lag ages.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Told of handler throws, malformed messages and connection errors; consumers keep running.
   * @default ignores them
   */
  readonly onError?: (error: unknown, context: JetStreamErrorContext) => void;
}

/** The JetStream event stream: an {@link EventStream} the outbox relay can publish to. */
export interface JetStreamEventStream extends EventStream, OutboxPublisher {
  /** The JetStream stream's name. */
  readonly streamName: string;
}

interface Connected {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly modules: NatsModules;
}

// JetStream's own rule for durable names, kept strict so a name maps to itself.
const CONSUMER_NAME = /^[A-Za-z0-9_-]{1,200}$/;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer.`, { [name]: value });
  }
  return value;
}

function isNotFound(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /not found/i.test(message);
}

/**
 * The NATS JetStream event stream, for deployments that outgrow one process or want outside
 * consumers. The outbox relay ({@link createOutboxRelay}) publishes each outbox row to
 * `<subjectPrefix>.<topic>.<tenant>` with `Nats-Msg-Id` = `outbox-<seq>-<createdAtMs>` and the headers of
 * {@link RECORD_HEADERS}; this stream creates the JetStream stream if missing and maps each
 * consumer name to a durable pull consumer with explicit acks.
 *
 * Guarantees:
 * - **At least once.** A record is acked only after the handler returned and its transaction
 *   on `db` (`delivery.db`) committed; a crash or a handler slower than `ackWaitMs` redelivers
 *   it. `record.seq` is the outbox seq, so handlers stay idempotent as with the embedded stream.
 * - **Order.** One process handles its records one at a time in stream order, which is the
 *   outbox order (one relay publishes at a time, in seq order). Unlike the embedded stream, a
 *   record whose handler threw is `nak`ed with a delay (`retryDelayMs`, doubling up to
 *   `maxRetryDelayMs`, never given up) and the records after it go on meanwhile; and processes
 *   sharing a name handle different records concurrently.
 * - **Shared work.** Every process consuming one name pulls from the same durable consumer.
 * - **NATS down.** Consumers and the connection retry every `reconnectDelayMs`; nothing is lost
 *   (the outbox keeps the records until the relay publishes them).
 *
 * The NATS client (`@nats-io/transport-node` and `@nats-io/jetstream`) is an optional peer
 * dependency, imported on first connection.
 *
 * @param options - database, servers, names and delivery settings.
 * @returns the stream; connecting starts on first use.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a setting that
 *   is not a positive integer or a subject prefix that is not dot-separated tokens.
 * @example
 * ```ts
 * const stream = createJetStreamStream({ db, servers: 'nats://127.0.0.1:4222' });
 * const relay = createOutboxRelay({ db, publisher: stream });
 * stream.consume('analytics', async (record, { db }) => { … });
 * ```
 */
export function createJetStreamStream(options: JetStreamStreamOptions): JetStreamEventStream {
  const { db } = options;
  const clock = options.clock ?? systemClock;
  const servers = options.servers ?? 'nats://127.0.0.1:4222';
  const streamName = options.stream ?? 'FIELDLINE';
  const prefix = options.subjectPrefix ?? 'fieldline';
  if (!CONSUMER_NAME.test(streamName)) {
    throw new InvalidArgumentError('A stream name is letters, digits, `_` and `-`.', {
      stream: streamName,
    });
  }
  if (!SUBJECT_PREFIX.test(prefix)) {
    throw new InvalidArgumentError(
      'subjectPrefix must be dot-separated tokens of letters, digits, `_` and `-`.',
      {
        subjectPrefix: prefix,
      },
    );
  }
  const ackWaitMs = positiveInteger('ackWaitMs', options.ackWaitMs ?? 30_000);
  const maxAckPending = positiveInteger('maxAckPending', options.maxAckPending ?? 1000);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const retryDelayMs = positiveInteger('retryDelayMs', options.retryDelayMs ?? 1000);
  const maxRetryDelayMs = positiveInteger('maxRetryDelayMs', options.maxRetryDelayMs ?? 60_000);
  const duplicateWindowMs = positiveInteger(
    'duplicateWindowMs',
    options.duplicateWindowMs ?? 600_000,
  );
  const publishTimeoutMs = positiveInteger('publishTimeoutMs', options.publishTimeoutMs ?? 5000);
  const reconnectDelayMs = positiveInteger('reconnectDelayMs', options.reconnectDelayMs ?? 1000);
  const onError = options.onError ?? (() => undefined);
  const handles = new Set<StreamConsumerHandle>();
  let connecting: Promise<Connected> | undefined;
  let current: Connected | undefined;
  let connected = false;
  let closed = false;

  const report = (error: unknown, context: JetStreamErrorContext): void => {
    try {
      onError(error, context);
    } catch {
      // A failing error listener must not stop the stream.
    }
  };

  async function open(): Promise<Connected> {
    const modules = await loadNatsModules();
    const nc = await modules.transport.connect({
      servers: typeof servers === 'string' ? servers : [...servers],
      name: `fieldline-${streamName}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: reconnectDelayMs,
      timeout: publishTimeoutMs,
    });
    connected = true;
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') connected = false;
        if (status.type === 'reconnect') connected = true;
      }
    })().catch(() => undefined);
    void nc.closed().then(() => {
      connected = false;
      if (current?.nc === nc) {
        current = undefined;
        connecting = undefined;
      }
    });
    try {
      const jsm = await modules.jetstream.jetstreamManager(nc, { timeout: publishTimeoutMs });
      try {
        await jsm.streams.add({
          name: streamName,
          subjects: [`${prefix}.>`],
          storage: modules.jetstream.StorageType.File,
          duplicate_window: modules.transport.nanos(duplicateWindowMs),
        });
      } catch (error) {
        // Another process created it first, perhaps with other limits: keep theirs.
        await jsm.streams.info(streamName).catch(() => {
          throw error;
        });
      }
      const js = modules.jetstream.jetstream(nc, { timeout: publishTimeoutMs });
      current = { nc, js, jsm, modules };
      return current;
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  function connection(): Promise<Connected> {
    if (closed) return Promise.reject(new InvalidArgumentError('The stream is closed.'));
    connecting ??= open().catch((error: unknown) => {
      connecting = undefined;
      connected = false;
      throw error;
    });
    return connecting;
  }

  async function ensureConsumer(conn: Connected, name: string): Promise<void> {
    const { AckPolicy, DeliverPolicy } = conn.modules.jetstream;
    await conn.jsm.consumers.add(streamName, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: conn.modules.transport.nanos(ackWaitMs),
      max_deliver: -1,
      max_ack_pending: maxAckPending,
    });
  }

  async function handleMessage(
    name: string,
    handler: StreamHandler,
    message: JsMsg,
  ): Promise<void> {
    const decoded = decodeRecord(message);
    const attempts = message.info.deliveryCount;
    if (!decoded.ok) {
      // Retrying cannot fix a malformed message: drop it for good, and say so. An ack rather
      // than a `term`, because some servers (2.9) keep a termed message in num_ack_pending,
      // which would show as lag forever.
      message.ack();
      report(
        new InvalidArgumentError(`Dropped a malformed stream message: ${decoded.reason}.`, {
          streamSeq: message.seq,
        }),
        { consumer: name, attempts },
      );
      return;
    }
    const { record } = decoded;
    try {
      await db.transaction().execute(async (trx) => {
        const deferred = createDeferredWorkQueue();
        await handler(record, {
          consumer: name,
          attempt: attempts,
          db: trx,
          deferUntilCommit: deferred.defer,
        });
        deferred.keep();
        await deferred.run(trx);
      });
    } catch (error) {
      message.nak(Math.min(maxRetryDelayMs, retryDelayMs * 2 ** Math.max(0, attempts - 1)));
      report(error, { consumer: name, seq: record.seq, attempts });
      return;
    }
    message.ack();
  }

  function checkName(name: string): void {
    if (typeof name !== 'string' || !CONSUMER_NAME.test(name)) {
      throw new InvalidArgumentError(
        'A JetStream consumer name is 1 to 200 letters, digits, `_` or `-`.',
        { name },
      );
    }
  }

  function consume(name: string, handler: StreamHandler): StreamConsumerHandle {
    if (closed) throw new InvalidArgumentError('The stream is closed.', { name });
    checkName(name);
    const signal = { stopped: false };
    let wake: (() => void) | undefined;
    const pause = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
      });
    let messages: { close(): Promise<unknown> } | undefined;

    async function run(): Promise<void> {
      while (!signal.stopped) {
        try {
          const conn = await connection();
          await ensureConsumer(conn, name);
          const consumer = await conn.js.consumers.get(streamName, name);
          const iterator = await consumer.consume({ max_messages: batchSize });
          messages = iterator;
          if (signal.stopped) await iterator.close();
          for await (const message of iterator) {
            if (signal.stopped) break;
            await handleMessage(name, handler, message);
          }
        } catch (error) {
          if (signal.stopped) return;
          report(error, { consumer: name });
        }
        messages = undefined;
        if (!signal.stopped) await pause(reconnectDelayMs);
      }
    }

    const running = run();
    const handle: StreamConsumerHandle = {
      name,
      async stop() {
        signal.stopped = true;
        wake?.();
        await messages?.close().catch(() => undefined);
        await running;
        handles.delete(handle);
      },
    };
    handles.add(handle);
    return handle;
  }

  async function outboxSeqAt(conn: Connected, streamSeq: number) {
    if (streamSeq <= 0) return undefined;
    const stored = await conn.jsm.streams
      .getMessage(streamName, { seq: streamSeq })
      .catch(() => null);
    if (stored === null || stored === undefined) return undefined;
    const seq = Number(stored.header.get(RECORD_HEADERS.seq));
    const created = Date.parse(stored.header.get(RECORD_HEADERS.createdAt));
    return {
      seq: Number.isSafeInteger(seq) ? seq : 0,
      createdAtMs: Number.isNaN(created) ? stored.time.getTime() : created,
    };
  }

  async function lag(name: string): Promise<StreamLag> {
    checkName(name);
    const conn = await connection();
    let floor = 0;
    let records: number;
    try {
      const info = await conn.jsm.consumers.info(streamName, name);
      floor = info.ack_floor.stream_seq;
      records = info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const info = await conn.jsm.streams.info(streamName);
      floor = Math.max(0, info.state.first_seq - 1);
      records = info.state.messages;
    }
    const position = (await outboxSeqAt(conn, floor))?.seq ?? 0;
    const oldest = records > 0 ? await outboxSeqAt(conn, floor + 1) : undefined;
    const oldestAgeMs = oldest === undefined ? 0 : Math.max(0, clock.now() - oldest.createdAtMs);
    return { consumer: name, position, records, oldestAgeMs };
  }

  async function publish(records: readonly StreamRecord[]): Promise<void> {
    const conn = await connection();
    if (!connected) throw new Error(`NATS is not connected (${String(servers)}).`);
    if (records.length === 0) return;
    // One connection keeps publish order, so the stream stores the records in seq order; the
    // PubAcks are awaited together.
    const acks = records.map((record) => {
      const headers = conn.modules.transport.headers();
      headers.set(RECORD_HEADERS.seq, String(record.seq));
      headers.set(RECORD_HEADERS.tenant, record.tenantId);
      headers.set(RECORD_HEADERS.topic, record.topic);
      headers.set(RECORD_HEADERS.createdAt, record.createdAt.toISOString());
      return conn.js.publish(
        recordSubject(prefix, record.topic, record.tenantId),
        JSON.stringify(record.payload),
        { msgID: outboxMessageId(record), headers, timeout: publishTimeoutMs },
      );
    });
    const results = await Promise.allSettled(acks);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  return {
    streamName,
    get connected() {
      return connected && current !== undefined && !current.nc.isClosed();
    },
    consume,
    lag,
    publish,
    async close() {
      closed = true;
      await Promise.all([...handles].map((handle) => handle.stop()));
      const conn = current ?? (await connecting?.catch(() => undefined));
      current = undefined;
      connected = false;
      await conn?.nc.drain().catch(() => conn.nc.close());
    },
  };
}
