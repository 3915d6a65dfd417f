/** Runs one round at a time over everything gathered since the last round started. */
export interface GatheredRounds<T> {
  /** Adds items to the next round, starting one unless a round is running. */
  add(items: Iterable<T>): void;
}

/**
 * Coalesces work that arrives in bursts: items added while a round runs wait for it and then go
 * together in the next one. A broadcast announces its devices in dozens of bus notices; with
 * this, they cost a few large delivery rounds instead of dozens of small ones queueing for the
 * database pool.
 *
 * @param run - runs one round; its rejection goes to `onError`.
 * @param onError - receives a failed round.
 * @returns the gatherer.
 */
export function createGatheredRounds<T>(
  run: (items: T[]) => Promise<void>,
  onError: (error: unknown) => void,
): GatheredRounds<T> {
  const gathered = new Set<T>();
  let running = false;
  const next = (): void => {
    if (running || gathered.size === 0) return;
    running = true;
    // One turn of the event loop lets the notices that arrived in the same burst join in.
    setImmediate(() => {
      const items = [...gathered];
      gathered.clear();
      run(items)
        .catch(onError)
        .finally(() => {
          running = false;
          next();
        });
    });
  };
  return {
    add(items) {
      for (const item of items) gathered.add(item);
      next();
    },
  };
}
