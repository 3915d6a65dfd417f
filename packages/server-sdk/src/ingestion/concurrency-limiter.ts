import { InvalidArgumentError } from '@fieldline/core';

/** Gives back a slot taken from a {@link ConcurrencyLimiter}; calling it twice is harmless. */
export type ReleaseSlot = () => void;

/** Options of {@link createConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /**
   * Most requests running at once.
   * @default 64
   */
  readonly maxInFlight?: number;
  /**
   * Most requests waiting for a slot; beyond that `acquire` refuses at once. 0 sheds load
   * instead of queueing: a client retrying after `Retry-After` is cheaper than a queue that
   * grows while the database is slow.
   * @default 0
   */
  readonly maxQueue?: number;
}

/** A counting semaphore with a bounded wait queue, shared by every device. */
export interface ConcurrencyLimiter {
  /**
   * Takes a slot, waiting in the queue if there is room in it.
   *
   * @returns the release function, or `undefined` when every slot and queue place is taken.
   */
  acquire(): Promise<ReleaseSlot | undefined>;
  /** Requests running now. */
  readonly inFlight: number;
  /** Requests waiting now. */
  readonly queued: number;
}

/**
 * Creates a concurrency limiter for load shedding.
 *
 * @param options - slots and queue length.
 * @returns the limiter.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when `maxInFlight` is
 *   not a positive integer or `maxQueue` a non-negative one.
 * @example
 * ```ts
 * const release = await limiter.acquire();
 * if (release === undefined) throw new HttpError('overloaded', 'Busy; retry in 1 s.');
 * try { await work(); } finally { release(); }
 * ```
 */
export function createConcurrencyLimiter(
  options: ConcurrencyLimiterOptions = {},
): ConcurrencyLimiter {
  const maxInFlight = options.maxInFlight ?? 64;
  const maxQueue = options.maxQueue ?? 0;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight <= 0) {
    throw new InvalidArgumentError('maxInFlight must be a positive integer.', { maxInFlight });
  }
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) {
    throw new InvalidArgumentError('maxQueue must be a non-negative integer.', { maxQueue });
  }
  let inFlight = 0;
  const waiting: Array<(release: ReleaseSlot) => void> = [];

  function slot(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const nextWaiter = waiting.shift();
      // The slot passes straight to the next waiter, so inFlight stays the same.
      if (nextWaiter === undefined) inFlight -= 1;
      else nextWaiter(slot());
    };
  }

  return {
    acquire() {
      if (inFlight < maxInFlight) {
        inFlight += 1;
        return Promise.resolve(slot());
      }
      if (waiting.length >= maxQueue) return Promise.resolve(undefined);
      return new Promise<ReleaseSlot>((resolve) => waiting.push(resolve));
    },
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return waiting.length;
    },
  };
}
