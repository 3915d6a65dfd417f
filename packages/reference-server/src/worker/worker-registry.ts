import { join } from 'node:path';
import {
  createAnalyticsConsumer,
  type EventStream,
  type FieldlineDb,
  type JetStreamEventStream,
  startWebhookWorker,
} from '@fieldline/server-sdk';
import { ServerStartError } from '../errors/server-start-error.js';
import type { ServerLogger } from '../logging/create-logger.js';
import { resolveWebhookKey } from '../server/webhook-key.js';
import { startRelay } from '../stream/start-relay.js';

/** What a worker is given when it starts. */
export interface WorkerContext {
  /** The open, migrated database. */
  readonly db: FieldlineDb;
  /** The event stream (embedded or JetStream) to consume from. */
  readonly stream: EventStream;
  /** The JetStream stream, when the process runs on NATS (the relay publishes to it). */
  readonly jetStream?: JetStreamEventStream;
  /** Where the worker logs. */
  readonly logger: ServerLogger;
  /** The data directory (where `webhook-secret.key` is kept unless `webhookKey` is given). */
  readonly dataDir: string;
  /** The webhook secrets' key as base64 (`FIELDLINE_WEBHOOK_KEY`). */
  readonly webhookKey?: string;
  /** Let webhook endpoints be private addresses (`FIELDLINE_ALLOW_PRIVATE_WEBHOOK_URLS=1`). */
  readonly allowPrivateWebhookUrls?: boolean;
}

/** A started worker. */
export interface RunningWorker {
  /** Finishes the work in flight and stops. */
  stop(): Promise<void>;
}

/** Starts one worker; throws (a `ServerStartError`) when it cannot run with this setup. */
export type WorkerStart = (context: WorkerContext) => RunningWorker | Promise<RunningWorker>;

/**
 * The workers `fieldline-server worker <name…>` can run, by name. Each is one line here: a
 * consumer worker is typically `(ctx) => ctx.stream.consume('name', handler)` (a consumer
 * handle has the `stop()` a worker needs).
 *
 * - `relay`: publishes the outbox to NATS JetStream (needs `--stream nats://…`).
 * - `analytics`: the analytics consumer (docs/analytics.md); run the servers with
 *   `--no-analytics` when these workers do it.
 * - `webhooks`: turns notifications into signed webhook deliveries and sends them
 *   (docs/webhooks.md); it needs the servers' webhook key (same data directory or
 *   `FIELDLINE_WEBHOOK_KEY`).
 * - `tail`: logs every stream record (seq, tenant, topic, payload) at `info`, as the durable
 *   consumer `tail`: a way to watch what consumers receive.
 */
export const WORKERS: Readonly<Record<string, WorkerStart>> = {
  relay: ({ db, jetStream, logger }) => {
    if (jetStream === undefined) {
      throw new ServerStartError(
        'invalid_option',
        'The relay publishes to NATS: give --stream nats://host:port (or FIELDLINE_STREAM). ' +
          'The embedded stream needs no relay.',
      );
    }
    const relay = startRelay(db, jetStream, logger);
    return { stop: () => relay.close() };
  },
  analytics: ({ db, stream, logger }) => createAnalyticsConsumer({ stream, db: db.db, logger }),
  webhooks: async ({ db, stream, logger, dataDir, webhookKey, allowPrivateWebhookUrls }) =>
    startWebhookWorker({
      db: db.db,
      stream,
      secretKey: await resolveWebhookKey({
        ...(webhookKey === undefined ? {} : { key: webhookKey }),
        path: join(dataDir, 'webhook-secret.key'),
      }),
      allowPrivateUrls: allowPrivateWebhookUrls ?? false,
      onError: (error) => logger.warn({ err: error }, 'webhook dispatcher error'),
    }),
  tail: ({ stream, logger }) =>
    stream.consume('tail', (record) => {
      logger.info({ record }, 'stream record');
    }),
};
