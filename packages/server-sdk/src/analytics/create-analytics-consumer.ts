import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createDeferredWorkQueue } from '../stream/deferred-work.js';
import type {
  EventStream,
  StreamDelivery,
  StreamLag,
  StreamRecord,
} from '../stream/event-stream.js';
import { applyDeviceBatches, type DeviceBatches } from './apply-device-batches.js';
import { eventsIngestedSchema } from './events-ingested-schema.js';
import { createTenantSettingsCache } from './tenant-settings-cache.js';

/** The subset of a logger the analytics consumer uses: pino's call shape (fields, then message). */
export interface AnalyticsLogger {
  /** A record the consumer skipped, or days it left frozen. */
  warn(fields: object, message?: string): void;
  /** What a record changed (at debug level). */
  debug(fields: object, message?: string): void;
}

/** Options of {@link createAnalyticsConsumer}. */
export interface AnalyticsConsumerOptions {
  /** The event stream carrying `events.ingested` records (e.g. {@link createOutboxStream}). */
  readonly stream: EventStream;
  /**
   * The Fieldline database the records refer to. The handler writes through the delivery's
   * transaction when the stream gives one (the embedded outbox stream does), else opens its own
   * transaction here.
   */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * Time source for the retention horizon and the settings cache.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * The durable consumer name; every process running the same name shares the work.
   * @default 'analytics'
   */
  readonly name?: string;
  /**
   * The topic of the stored-batch messages.
   * @default 'events.ingested'
   */
  readonly topic?: string;
  /**
   * How long a tenant's settings are reused before being read again, in ms.
   * @default 30000
   */
  readonly settingsTtlMs?: number;
  /**
   * Told of skipped records and frozen days.
   * @default none
   */
  readonly logger?: AnalyticsLogger;
}

/** A running analytics consumer, from {@link createAnalyticsConsumer}. */
export interface AnalyticsConsumer {
  /** Its durable name. */
  readonly name: string;
  /**
   * How far the consumer is behind the stream (the `fieldline_stream_consumer_lag_*` metrics).
   *
   * @returns records behind and the age of the oldest, from the stream.
   * @example
   * ```ts
   * const { records, oldestAgeMs } = await analytics.lag();
   * ```
   */
  lag(): Promise<StreamLag>;
  /**
   * Stops consuming; resolves once the batch in flight has committed or rolled back.
   *
   * @example
   * ```ts
   * await analytics.stop();
   * ```
   */
  stop(): Promise<void>;
}

/**
 * Starts the analytics consumer: for every `events.ingested` record (one stored batch), it
 * adds what the batch's events change to the device's `aggregates` rows, the tenant's
 * `tenant_aggregates` and the device's `device_day_totals`, in one transaction. Only the spans
 * the events can change are aggregated, with and without them (`applyDeviceBatches`), so
 * the cost follows the batch, not the history of the days it touches. Records of one device in
 * a stream batch are added together. Other topics are ignored.
 *
 * Guarantees (docs/analytics.md, "How the consumer works"):
 * - **Exact.** The rows are always the aggregation of the batches recorded in
 *   `analytics_applied`, whatever order, lateness or interleaving the batches come in; the
 *   property suites compare them with `aggregateActivity` over the stored events.
 * - **Idempotent.** A batch is added once: a redelivered or replayed record changes nothing.
 * - **Per-device serialization.** The work on a device takes a transaction-scoped advisory lock
 *   on it, so workers handling two records of one device at once keep every table exact.
 * - **A malformed record is skipped** (logged), since no retry could make it valid; a database
 *   error throws, and the stream offers the record again.
 *
 * @param options - stream, database, clock, name, logger.
 * @returns the running consumer.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when
 *   `settingsTtlMs` is not a non-negative integer, or the stream refuses the name.
 * @example
 * ```ts
 * const stream = createOutboxStream({ db });
 * const analytics = createAnalyticsConsumer({ stream, db });
 * // …
 * await analytics.stop();
 * ```
 */
export function createAnalyticsConsumer(options: AnalyticsConsumerOptions): AnalyticsConsumer {
  const { stream, logger } = options;
  const clock = options.clock ?? systemClock;
  const name = options.name ?? 'analytics';
  const topic = options.topic ?? 'events.ingested';
  const settingsTtlMs = options.settingsTtlMs ?? 30_000;
  if (!Number.isSafeInteger(settingsTtlMs) || settingsTtlMs < 0) {
    throw new InvalidArgumentError('settingsTtlMs must be a non-negative integer.', {
      settingsTtlMs,
    });
  }
  const settingsCache = createTenantSettingsCache(clock, settingsTtlMs);

  /** Adds the batches a stream batch named, in its transaction. */
  async function apply(
    db: Kysely<FieldlineDatabase>,
    batches: readonly DeviceBatches[],
    seq: number,
  ): Promise<void> {
    const result = await applyDeviceBatches(db, batches, clock.now());
    if (Object.keys(result.frozenDays).length > 0) {
      logger?.warn(
        { consumer: name, frozenDays: result.frozenDays },
        'analytics: late events for days past retention were not counted',
      );
    }
    logger?.debug(
      { consumer: name, seq, devices: batches.length, ...result },
      'analytics: batches added',
    );
  }

  // The batches each device has in a stream batch, by the stream batch's transaction: records
  // add to them, and one deferred apply adds them all at the end.
  const pending = new WeakMap<object, Map<string, DeviceBatches & { receivedAtMs: number[] }>>();

  async function handle(record: StreamRecord, delivery: StreamDelivery): Promise<void> {
    const { db } = delivery;
    const parsed = eventsIngestedSchema.safeParse(record.payload);
    if (!parsed.success || parsed.data.tenantId !== record.tenantId) {
      logger?.warn(
        { consumer: name, seq: record.seq, issues: parsed.error?.issues.slice(0, 5) },
        'analytics: skipped a malformed events.ingested record',
      );
      return;
    }
    const message = parsed.data;
    if (message.count === 0) return;
    const receivedAtMs = Date.parse(message.receivedAt);
    let byDevice = pending.get(db);
    if (byDevice === undefined) {
      const batches = new Map<string, DeviceBatches & { receivedAtMs: number[] }>();
      byDevice = batches;
      pending.set(db, batches);
      delivery.deferUntilCommit('analytics', async (trx) => {
        pending.delete(db);
        await apply(trx, [...batches.values()], record.seq);
      });
    }
    const known = byDevice.get(message.deviceId);
    if (known !== undefined) {
      known.receivedAtMs.push(receivedAtMs);
      return;
    }
    const settings = await settingsCache.get(db, message.tenantId);
    byDevice.set(message.deviceId, {
      deviceId: message.deviceId,
      settings,
      receivedAtMs: [receivedAtMs],
    });
  }

  const handleRecord = stream.consume(name, async (record, delivery) => {
    if (record.topic !== topic) return;
    if (delivery.db.isTransaction) {
      await handle(record, delivery);
    } else {
      await options.db.transaction().execute(async (trx) => {
        const queue = createDeferredWorkQueue();
        await handle(record, { ...delivery, db: trx, deferUntilCommit: queue.defer });
        queue.keep();
        await queue.run(trx);
      });
    }
  });

  return {
    name,
    lag: () => stream.lag(name),
    stop: () => handleRecord.stop(),
  };
}
