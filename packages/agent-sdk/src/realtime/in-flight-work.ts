/** Work started in the background (a command handler and its ack) that a shutdown waits for. */
export interface InFlightWork {
  /**
   * Adds work to wait for; it leaves the set when it settles.
   *
   * @param work - a promise that should not reject (a rejection only ends the wait for it).
   */
  add(work: Promise<unknown>): void;
  /** How much work is under way. */
  readonly size: number;
  /**
   * Waits until no work is under way, including work added while waiting, or the time is up.
   *
   * @param timeoutMs - how long to wait at most.
   * @returns true when everything settled, false when the time ran out first.
   */
  settled(timeoutMs: number): Promise<boolean>;
}

/**
 * Creates a set of background work that can be awaited with a bound, so `shutdown()` resolves
 * only after the acks it can still send have been sent, and never waits on a hung one for ever.
 *
 * @returns an empty set.
 * @example
 * ```ts
 * const work = createInFlightWork();
 * work.add(handleCommand(command));
 * const allDone = await work.settled(5_000);
 * ```
 */
export function createInFlightWork(): InFlightWork {
  const work = new Set<Promise<unknown>>();
  return {
    add(promise) {
      const tracked: Promise<unknown> = promise
        .catch(() => undefined)
        .finally(() => work.delete(tracked));
      work.add(tracked);
    },
    get size() {
      return work.size;
    },
    async settled(timeoutMs) {
      if (work.size === 0) return true;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
      });
      try {
        while (work.size > 0) {
          const done = await Promise.race([
            Promise.allSettled([...work]).then(() => true),
            timedOut,
          ]);
          if (!done) return false;
        }
        return true;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
