import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { EventStream } from '../stream/event-stream.js';
import type { WebhookAttemptOutcome } from './attempt-delivery.js';
import { createWebhookDispatcher } from './dispatch-deliveries.js';
import { createWebhookEnqueueHandler } from './enqueue-deliveries.js';
import {
  resolveWebhookDeliveryOptions,
  type WebhookDeliveryOptions,
} from './webhook-delivery-policy.js';

/** Options of {@link startWebhookWorker}. */
export interface WebhookWorkerOptions extends WebhookDeliveryOptions {
  /** The migrated database. */
  readonly db: Kysely<FieldlineDatabase>;
  /** The event stream the notifications are read from. */
  readonly stream: EventStream;
  /**
   * The durable consumer name.
   * @default 'webhooks'
   */
  readonly consumerName?: string;
  /**
   * Most HTTP attempts in flight at once (per process).
   * @default 8
   */
  readonly concurrency?: number;
  /**
   * Pause between looks for due deliveries when none was due, in ms.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /**
   * Told of every attempt's outcome (metrics, logs).
   * @default ignores them
   */
  readonly onAttempt?: (outcome: WebhookAttemptOutcome) => void;
  /**
   * Told of database errors of the dispatcher; it keeps running.
   * @default ignores them
   */
  readonly onError?: (error: unknown) => void;
}

/** A running webhook worker. */
export interface WebhookWorker {
  /**
   * Sends what is due now (for tests and one-shot runs); resolves when it is recorded.
   *
   * @returns how many deliveries were attempted.
   * @example
   * ```ts
   * await worker.dispatchNow();
   * ```
   */
  dispatchNow(): Promise<number>;
  /**
   * Stops the consumer and the dispatcher, waiting for work in flight.
   *
   * @example
   * ```ts
   * await worker.stop();
   * ```
   */
  stop(): Promise<void>;
}

/**
 * Starts webhook delivery: the durable stream consumer `webhooks`, which turns each
 * notification into deliveries for the subscribed endpoints (idempotent by endpoint and stream
 * seq), and the dispatcher, which POSTs due deliveries signed, with retries and backoff, and
 * disables failing endpoints (docs/webhooks.md). Run it in the server process or on its own
 * (`fieldline-server worker webhooks`); several processes may run it at once.
 *
 * @param options - database, stream, secret key and delivery tuning.
 * @returns the worker.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a key that is
 *   not 32 bytes or a limit that is not a positive integer.
 * @example
 * ```ts
 * const worker = startWebhookWorker({ db, stream: createOutboxStream({ db }), secretKey });
 * process.on('SIGTERM', () => void worker.stop());
 * ```
 */
export function startWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const delivery = resolveWebhookDeliveryOptions(options);
  const dispatcher = createWebhookDispatcher({
    db: options.db,
    delivery,
    concurrency: options.concurrency ?? 8,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    ...(options.onAttempt === undefined ? {} : { onAttempt: options.onAttempt }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  const consumer = options.stream.consume(
    options.consumerName ?? 'webhooks',
    createWebhookEnqueueHandler(),
  );
  return {
    dispatchNow: () => dispatcher.runOnce(),
    async stop() {
      await Promise.all([consumer.stop(), dispatcher.stop()]);
    },
  };
}
