/** One notification waiting to be sent: the full channel name and the encoded payload. */
export interface QueuedNotification {
  readonly channel: string;
  readonly payload: string;
}

/** Sends notifications in order, several per statement. */
export interface NotifyQueue {
  /**
   * Queues notifications behind every earlier one.
   *
   * @returns settles once all of them were handed to `send` and it settled.
   */
  add(notifications: readonly QueuedNotification[]): Promise<void>;
  /** Settles once everything queued so far was sent. */
  drain(): Promise<void>;
}

/**
 * Coalesces notifications that arrive while a statement is in flight into the next statement,
 * at most `batchSize` per statement, keeping their order.
 *
 * A connect storm publishes a session notice and a presence event per device. Sent one
 * statement each over the bus's single publishing connection they queued behind each other
 * (about 50 ms a connect at 100 concurrent handshakes); gathered, the waiting ones leave
 * together in the next round trip.
 *
 * @param send - sends one batch in one statement; a rejection is the caller's to report, and
 *   the batch still counts as handled (bus messages are best effort).
 * @param batchSize - the most notifications per statement.
 * @returns the queue.
 * @internal
 */
export function createNotifyQueue(
  send: (batch: readonly QueuedNotification[]) => Promise<void>,
  batchSize: number,
): NotifyQueue {
  const waiting: Array<{ notification: QueuedNotification; done: () => void }> = [];
  let pumping: Promise<void> | undefined;

  const pump = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting.splice(0, batchSize);
      try {
        await send(batch.map((entry) => entry.notification));
      } finally {
        for (const entry of batch) entry.done();
      }
    }
  };

  const start = (): void => {
    pumping ??= pump()
      // `send` reports its own failures; this only keeps a bug in it from stalling the queue.
      .catch(() => undefined)
      .finally(() => {
        pumping = undefined;
        if (waiting.length > 0) start();
      });
  };

  return {
    add(notifications) {
      if (notifications.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        let left = notifications.length;
        const done = (): void => {
          left -= 1;
          if (left === 0) resolve();
        };
        for (const notification of notifications) waiting.push({ notification, done });
        start();
      });
    },
    async drain() {
      while (pumping !== undefined) await pumping;
    },
  };
}
