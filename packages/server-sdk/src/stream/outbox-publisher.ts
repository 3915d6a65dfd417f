import type { StreamRecord } from './event-stream.js';

/**
 * Where the outbox relay publishes records: the JetStream stream
 * ({@link createJetStreamStream}) is one. A publisher must make a republished record harmless
 * (JetStream deduplicates by `Nats-Msg-Id` = `outbox-<seq>-<createdAtMs>`), because a relay that crashes
 * between publishing and marking the rows publishes them again.
 */
export interface OutboxPublisher {
  /**
   * Publishes the records in the order given and resolves once the stream has stored every
   * one (JetStream's PubAcks); rejects if any was not, so the relay retries them all.
   * Publishing nothing still connects, and rejects when it cannot: a standby relay calls it
   * that way so that `connected` tells the truth.
   *
   * @param records - outbox rows in seq order.
   * @example
   * ```ts
   * await publisher.publish(records);
   * ```
   */
  publish(records: readonly StreamRecord[]): Promise<void>;
  /** Whether the publisher is connected to its server now (for status and metrics). */
  readonly connected: boolean;
}
