/**
 * The topics instances exchange (docs/protocol.md §4.9). Payloads are small
 * JSON objects: PostgreSQL NOTIFY caps a payload at 8000 bytes.
 */
export const BUS_TOPICS = Object.freeze({
  /** `{ deviceId }`: the device has a new command; whoever holds its socket delivers. */
  commands: 'fieldline_commands',
  /** `{ deviceId, instanceId }`: the device authenticated on an instance; older sockets close. */
  sessions: 'fieldline_sessions',
  /** An admin stream event (§4.8), for every instance's subscribers. */
  adminEvents: 'fieldline_admin_events',
  /**
   * `{ deviceId, closeCode, reason }`: the device was revoked, quarantined or must rotate its
   * keys; every instance closes its sockets with that code.
   */
  closures: 'fieldline_closures',
});

/** A topic of {@link BUS_TOPICS}. */
export type BusTopic = (typeof BUS_TOPICS)[keyof typeof BUS_TOPICS];

/** Receives the messages of one topic, including those this instance published. */
export type BusListener = (payload: unknown) => void;

/**
 * Publish/subscribe between server instances. Delivery is best effort and at
 * most once: anything that must not be lost is in the database first, and
 * the bus only says "look now". Identical payloads published close together on one
 * topic may arrive once (the PostgreSQL bus sends them in one transaction, and
 * PostgreSQL folds duplicate notifications of a transaction); as hints, that is harmless.
 */
export interface ClusterBus {
  /**
   * Sends a payload to every subscriber of the topic on every instance.
   *
   * @param topic - the topic.
   * @param payload - a JSON-serializable value (≤ 7 KB encoded).
   */
  publish(topic: BusTopic, payload: unknown): Promise<void>;
  /**
   * Optional: sends several payloads on one topic in few round trips, in order, as if each
   * were published. Buses without it are sent one `publish` per payload.
   *
   * @param topic - the topic.
   * @param payloads - JSON-serializable values (each ≤ 7 KB encoded).
   */
  publishMany?(topic: BusTopic, payloads: readonly unknown[]): Promise<void>;
  /**
   * Listens to a topic.
   *
   * @param topic - the topic.
   * @param listener - called for each message; must not throw.
   * @returns a function that stops listening.
   */
  subscribe(topic: BusTopic, listener: BusListener): () => void;
  /**
   * Optional: tells when the bus listens again after it could not for a while (a dropped
   * connection came back), so messages published meanwhile may have been missed. Subscribers
   * then re-read from the database what those messages would have pointed at. Buses that
   * never miss messages (the memory bus) leave it out.
   *
   * @param listener - called after each such gap; must not throw.
   * @returns a function that stops the calls.
   */
  onReconnect?(listener: () => void): () => void;
  /** Stops listening and releases connections. */
  close(): Promise<void>;
}
