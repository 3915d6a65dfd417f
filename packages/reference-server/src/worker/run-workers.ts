import { openDatabase } from '../db/open-database.js';
import { runMigrations } from '../db/run-migrations.js';
import { ServerStartError } from '../errors/server-start-error.js';
import type { ServerLogger } from '../logging/create-logger.js';
import { openEventStream, type StreamSetting } from '../stream/open-event-stream.js';
import { type RunningWorker, WORKERS, type WorkerStart } from './worker-registry.js';

/** Options of {@link runWorkers}. */
export interface RunWorkersOptions {
  /** Names of {@link WORKERS} to run, at least one. */
  readonly names: readonly string[];
  /** The data directory (PGlite lives in `<dataDir>/db` when there is no `databaseUrl`). */
  readonly dataDir: string;
  /** PostgreSQL connection string; when absent, PGlite in the data directory. */
  readonly databaseUrl?: string;
  /** The event stream. */
  readonly stream: StreamSetting;
  /** Where workers log. */
  readonly logger: ServerLogger;
  /** The webhook secrets' key as base64, for the `webhooks` worker (else the data dir's file). */
  readonly webhookKey?: string;
  /** Let the `webhooks` worker post to private addresses (development). */
  readonly allowPrivateWebhookUrls?: boolean;
  /**
   * The workers to choose from.
   * @default WORKERS
   */
  readonly registry?: Readonly<Record<string, WorkerStart>>;
}

/** Workers running in this process, from {@link runWorkers}. */
export interface RunningWorkers {
  /** The names running. */
  readonly names: readonly string[];
  /** Stops every worker (finishing the work in flight), then the stream and the database. */
  stop(): Promise<void>;
}

/**
 * Runs workers (the outbox relay, stream consumers) in this process, apart from the HTTP
 * server. Several processes may run the same workers: relays take turns through their lease,
 * consumers of one name share its records.
 *
 * @param options - names, database, stream, logger.
 * @returns the running workers.
 * @throws {@link ServerStartError} `invalid_option` for an unknown name; a worker's own error
 *   when it cannot run with this setup. Nothing is left open when it throws.
 * @example
 * ```ts
 * const workers = await runWorkers({ names: ['relay'], dataDir: '.fieldline', databaseUrl,
 *   stream: parseStreamSetting('nats://127.0.0.1:4222'), logger });
 * await workers.stop();
 * ```
 */
export async function runWorkers(options: RunWorkersOptions): Promise<RunningWorkers> {
  const registry = options.registry ?? WORKERS;
  const unknown = options.names.filter((name) => !Object.hasOwn(registry, name));
  if (options.names.length === 0 || unknown.length > 0) {
    throw new ServerStartError(
      'invalid_option',
      `${unknown.length > 0 ? `Unknown worker "${unknown[0]}"` : 'No worker named'}; the workers are: ${Object.keys(registry).join(', ')}.`,
    );
  }
  const { logger } = options;
  const database = await openDatabase({
    dataDir: options.dataDir,
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    onConnectionError: (error) => logger.warn({ err: error }, 'database connection lost'),
  });
  const opened = openEventStream(database, options.stream, logger);
  const running: RunningWorker[] = [];
  const stopAll = async (): Promise<void> => {
    for (const worker of running.splice(0).reverse()) {
      await worker
        .stop()
        .catch((error: unknown) => logger.warn({ err: error }, 'worker stop failed'));
    }
    await opened.stream.close();
    await database.close();
  };
  try {
    await runMigrations(database);
    for (const name of options.names) {
      running.push(
        await (registry[name] as WorkerStart)({
          db: database,
          stream: opened.stream,
          ...(opened.jetStream === undefined ? {} : { jetStream: opened.jetStream }),
          logger,
          dataDir: options.dataDir,
          ...(options.webhookKey === undefined ? {} : { webhookKey: options.webhookKey }),
          allowPrivateWebhookUrls: options.allowPrivateWebhookUrls ?? false,
        }),
      );
      logger.info({ worker: name }, 'worker started');
    }
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    names: [...options.names],
    stop: () => {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
