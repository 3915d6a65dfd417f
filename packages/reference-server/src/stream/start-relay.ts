import {
  createOutboxRelay,
  type FieldlineDb,
  type OutboxPublisher,
  type OutboxRelay,
} from '@fieldline/server-sdk';
import type { ServerLogger } from '../logging/create-logger.js';

/** Least time between two log lines about one NATS outage. */
const RELAY_LOG_INTERVAL_MS = 10_000;

/**
 * Starts the outbox relay on a database and publisher, logging failed rounds at most once per
 * ten seconds (during a NATS outage every round fails the same way).
 *
 * @param db - the open database.
 * @param publisher - the JetStream stream.
 * @param logger - where failures are logged.
 * @returns the running relay.
 * @example
 * ```ts
 * const relay = startRelay(database, jetStream, logger);
 * ```
 */
export function startRelay(
  db: FieldlineDb,
  publisher: OutboxPublisher,
  logger: ServerLogger,
): OutboxRelay {
  let lastLogMs = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return createOutboxRelay({
    db: db.db,
    publisher,
    onError: (error) => {
      const nowMs = Date.now();
      if (nowMs - lastLogMs < RELAY_LOG_INTERVAL_MS) {
        suppressed += 1;
        return;
      }
      lastLogMs = nowMs;
      logger.warn({ err: error, suppressed }, 'outbox relay cannot publish; retrying');
      suppressed = 0;
    },
  });
}
