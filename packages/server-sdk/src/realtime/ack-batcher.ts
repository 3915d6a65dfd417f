import type { DeviceAck } from '../commands/ack-command.js';

const ACK_BATCH_MAX = 500;
const ACK_BATCH_DELAY_MS = 5;

/** Gathers socket acks and writes them together. */
export interface AckBatcher {
  /** Queues one ack; it is written within a few milliseconds. */
  add(ack: DeviceAck): void;
  /** Writes whatever is queued now (shutdown). */
  flush(): Promise<void>;
}

/**
 * Batches acks for at most 5 ms or 500 acks: a broadcast's thousands of acks then cost a
 * handful of statements instead of one each.
 *
 * @param write - writes one batch (the outbox's `ackMany`).
 * @param onError - receives a failed write; the acks are lost, so the commands are redelivered.
 * @returns the batcher.
 */
export function createAckBatcher(
  write: (acks: readonly DeviceAck[]) => Promise<unknown>,
  onError: (error: unknown) => void,
): AckBatcher {
  let pending: DeviceAck[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return Promise.resolve();
    return write(batch).then(() => undefined, onError);
  };
  return {
    add(ack) {
      pending.push(ack);
      if (pending.length >= ACK_BATCH_MAX) void flush();
      else timer ??= setTimeout(() => void flush(), ACK_BATCH_DELAY_MS);
    },
    flush,
  };
}
