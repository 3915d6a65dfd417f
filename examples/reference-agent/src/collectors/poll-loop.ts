import type {
  Collector,
  CollectorEmit,
  CollectorStartOptions,
  CollectorSupport,
} from '@fieldline/agent-sdk';
import type { Clock } from '@fieldline/core';

/**
 * Where a polling collector gets its repeating timer from. The default uses
 * the global `setInterval`; tests pass one they fire by hand so polls run
 * deterministically.
 */
export interface IntervalScheduler {
  /**
   * Calls `callback` every `intervalMs` until cleared.
   *
   * @param callback - the poll to run.
   * @param intervalMs - the period in milliseconds.
   * @returns a handle for {@link IntervalScheduler.clearInterval}.
   */
  setInterval(callback: () => void, intervalMs: number): unknown;
  /**
   * Cancels a timer made by {@link IntervalScheduler.setInterval}.
   *
   * @param handle - what `setInterval` returned.
   */
  clearInterval(handle: unknown): void;
}

/** The real scheduler, backed by the global `setInterval` and `clearInterval`. */
export const systemScheduler: IntervalScheduler = Object.freeze({
  setInterval: (callback: () => void, intervalMs: number): unknown =>
    setInterval(callback, intervalMs),
  clearInterval: (handle: unknown): void => {
    clearInterval(handle as ReturnType<typeof setInterval>);
  },
});

/** Options every polling collector shares. */
export interface PollingOptions {
  /**
   * Time source for durations and `occurredAtMs`.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Timer used between polls.
   * @default systemScheduler
   */
  readonly scheduler?: IntervalScheduler;
  /**
   * Told about a poll that failed unexpectedly (the next poll runs as usual).
   * Collectors never throw into the host's timers.
   * @default ignores the error
   */
  readonly onError?: (error: unknown) => void;
}

/**
 * A {@link Collector} that samples on an interval. `poll()` runs one sample
 * now, so an agent (or a test) can drive it without waiting for the timer.
 */
export interface PollingCollector extends Collector {
  /**
   * Takes one sample now and emits what changed since the previous one. Does
   * nothing while the collector is stopped or unsupported. Never rejects.
   *
   * @returns when the sample has been taken and its events emitted.
   * @example
   * ```ts
   * await collector.start(emit);
   * await collector.poll();
   * ```
   */
  poll(): Promise<void>;
}

/**
 * The part of a polling collector that differs between collectors.
 *
 * @internal
 */
export interface PollBody {
  /** Whether the collector can run here; asked once per `start()`. */
  support(): Promise<CollectorSupport>;
  /** Forgets everything from a previous run; the next `sample` is a baseline. */
  reset(): void;
  /**
   * Takes one sample. The first one after `reset` establishes the baseline;
   * it may emit only what is meaningful on its own (never a flood).
   */
  sample(emit: CollectorEmit): Promise<void>;
}

/**
 * Wraps a {@link PollBody} into a {@link PollingCollector}: one timer, no
 * overlapping polls, nothing emitted after `stop()`, errors routed to
 * `onError` instead of escaping into the host.
 *
 * @param name - the collector's config key.
 * @param scope - the consent scope of its events.
 * @param intervalMs - the time between polls.
 * @param body - what one poll does.
 * @param options - scheduler and error hook.
 * @returns the collector.
 * @throws {RangeError} when `intervalMs` is not a positive finite number.
 * @internal
 */
export function createPollingCollector(
  name: string,
  scope: string,
  intervalMs: number,
  body: PollBody,
  options: PollingOptions,
): PollingCollector {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`${name}: intervalMs must be a positive number, got ${intervalMs}`);
  }
  const scheduler = options.scheduler ?? systemScheduler;
  const onError = options.onError ?? (() => {});
  let emit: CollectorEmit | undefined;
  let handle: unknown;
  let running = false;
  let starting = false;
  let inFlight: Promise<void> | undefined;
  // Bumped on every start/stop so a poll that outlives its run emits nothing.
  let generation = 0;

  function poll(): Promise<void> {
    if (!running || emit === undefined) return Promise.resolve();
    if (inFlight !== undefined) return inFlight;
    const runGeneration = generation;
    const target = emit;
    const guarded: CollectorEmit = (type, data, occurredAtMs) => {
      if (running && generation === runGeneration) target(type, data, occurredAtMs);
    };
    inFlight = body
      .sample(guarded)
      .catch((error: unknown) => {
        onError(error);
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  const collector: PollingCollector = {
    name,
    scope,
    support: () => body.support(),
    async start(target: CollectorEmit, options?: CollectorStartOptions): Promise<void> {
      if (running || starting) return;
      starting = true;
      generation += 1;
      const startGeneration = generation;
      try {
        const support = await body.support();
        // An unsupported collector stays silent even if started by mistake,
        // and a stop() that came while support was checked wins.
        if (!support.supported || generation !== startGeneration) return;
        running = true;
        emit = target;
        body.reset();
      } finally {
        starting = false;
      }
      await poll();
      if (!running || generation !== startGeneration) return;
      // The server's config decides the period when it sets one.
      const period =
        options?.intervalMs !== undefined &&
        Number.isFinite(options.intervalMs) &&
        options.intervalMs > 0
          ? options.intervalMs
          : intervalMs;
      handle = scheduler.setInterval(() => {
        void poll();
      }, period);
    },
    async stop(): Promise<void> {
      generation += 1;
      if (!running) return;
      running = false;
      emit = undefined;
      if (handle !== undefined) scheduler.clearInterval(handle);
      handle = undefined;
      if (inFlight !== undefined) await inFlight;
    },
    poll,
  };
  return collector;
}
