import type { BusTopic, ClusterBus } from './cluster-bus.js';

// Enough to keep a PostgreSQL bus busy without queueing thousands of NOTIFYs on its pool at once.
const PUBLISH_CONCURRENCY = 16;

/**
 * Publishes payloads on a topic, a few at a time, reporting failures instead
 * of throwing: the bus only says "look now", and whatever it announces is
 * already in the database, so a lost message delays delivery, never loses it.
 *
 * @param bus - the bus.
 * @param topic - the topic.
 * @param payloads - the messages, published in order of starting.
 * @param onError - receives each failed publish.
 * @internal
 */
export async function publishAll(
  bus: ClusterBus,
  topic: BusTopic,
  payloads: readonly unknown[],
  onError: (error: unknown) => void,
): Promise<void> {
  if (payloads.length === 0) return;
  if (bus.publishMany !== undefined) {
    try {
      await bus.publishMany(topic, payloads);
    } catch (error) {
      onError(error);
    }
    return;
  }
  let next = 0;
  const worker = async () => {
    while (next < payloads.length) {
      const payload = payloads[next];
      next += 1;
      try {
        await bus.publish(topic, payload);
      } catch (error) {
        onError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, payloads.length) }, worker));
}
