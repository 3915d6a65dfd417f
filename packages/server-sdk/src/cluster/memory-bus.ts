import { encodeBusPayload } from './bus-payload.js';
import type { BusListener, BusTopic, ClusterBus } from './cluster-bus.js';

/**
 * A bus for one process (tests, embedded PGlite): messages reach this
 * process's subscribers on the next microtask, never synchronously, so a
 * publisher is never re-entered by its own listeners. Payloads are held to
 * the PostgreSQL bus's limit ({@link MAX_BUS_PAYLOAD_BYTES}).
 *
 * @returns the bus.
 * @example
 * ```ts
 * const bus = createMemoryBus();
 * bus.subscribe(BUS_TOPICS.commands, (payload) => console.log(payload));
 * await bus.publish(BUS_TOPICS.commands, { deviceId: 'dev_1' });
 * ```
 */
export function createMemoryBus(): ClusterBus {
  const listeners = new Map<BusTopic, Set<BusListener>>();
  return {
    async publish(topic, payload) {
      // A JSON round trip gives listeners the same detached copy PostgreSQL would, and the
      // same size limit keeps code tested on this bus within what PostgreSQL carries.
      const copy: unknown = JSON.parse(encodeBusPayload(topic, payload));
      await Promise.resolve();
      for (const listener of [...(listeners.get(topic) ?? [])]) listener(copy);
    },
    subscribe(topic, listener) {
      let set = listeners.get(topic);
      if (set === undefined) {
        set = new Set();
        listeners.set(topic, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
    async close() {
      listeners.clear();
    },
  };
}
