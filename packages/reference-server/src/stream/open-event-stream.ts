import {
  createJetStreamStream,
  createOutboxStream,
  type EventStream,
  type FieldlineDb,
  type JetStreamEventStream,
} from '@fieldline/server-sdk';
import { ServerStartError } from '../errors/server-start-error.js';
import type { ServerLogger } from '../logging/create-logger.js';

/**
 * Which event stream a server or worker uses: `embedded` (the outbox table, nothing else to
 * run) or NATS JetStream at one or more `nats://host:port` URLs (comma-separated).
 */
export type StreamSetting = 'embedded' | { readonly natsServers: readonly string[] };

/**
 * Reads a `--stream` / `FIELDLINE_STREAM` value.
 *
 * @param text - `embedded`, or `nats://host:port[,nats://host:port…]`.
 * @returns the setting.
 * @throws {@link ServerStartError} `invalid_option` for anything else.
 * @example
 * ```ts
 * parseStreamSetting('nats://127.0.0.1:4222'); // { natsServers: ['nats://127.0.0.1:4222'] }
 * ```
 */
export function parseStreamSetting(text: string): StreamSetting {
  if (text === 'embedded') return 'embedded';
  const servers = text.split(',').map((part) => part.trim());
  const valid = servers.every((server) => {
    try {
      const url = new URL(server);
      return (url.protocol === 'nats:' || url.protocol === 'tls:') && url.hostname !== '';
    } catch {
      return false;
    }
  });
  if (!valid || servers.length === 0) {
    throw new ServerStartError(
      'invalid_option',
      `The stream must be "embedded" or nats://host:port (comma-separated for several); got "${text}".`,
    );
  }
  return { natsServers: servers };
}

/** The stream a process opened, and the publisher the relay needs when it is NATS. */
export interface OpenedEventStream {
  readonly stream: EventStream;
  /** The JetStream stream, when the setting is NATS. */
  readonly jetStream?: JetStreamEventStream;
}

/**
 * Opens the event stream a setting names on the process's database. Connecting to NATS starts
 * on first use and retries for as long as it is down.
 *
 * @param db - the open database.
 * @param setting - embedded or NATS.
 * @param logger - where stream errors are logged.
 * @returns the stream.
 * @example
 * ```ts
 * const { stream, jetStream } = openEventStream(database, parseStreamSetting('embedded'), logger);
 * ```
 */
export function openEventStream(
  db: FieldlineDb,
  setting: StreamSetting,
  logger: ServerLogger,
): OpenedEventStream {
  if (setting === 'embedded') {
    return {
      stream: createOutboxStream({
        db: db.db,
        // Consumers that fall behind catch up in batches of up to 500 records: the analytics
        // consumer recomputes each device once per batch, so bigger batches cost less each.
        batchSize: 500,
        onError: (error, context) =>
          logger.warn({ err: error, ...context }, 'stream consumer error'),
      }),
    };
  }
  const jetStream = createJetStreamStream({
    db: db.db,
    servers: setting.natsServers,
    onError: (error, context) => logger.warn({ err: error, ...context }, 'stream error'),
  });
  return { stream: jetStream, jetStream };
}
