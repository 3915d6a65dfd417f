import type { Clock } from '../contracts/clock.js';
import { InvalidArgumentError } from '../errors.js';

/** A {@link Clock} that moves only when told to. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms` (must be ≥ 0). */
  advance(ms: number): void;
  /** Sets the time, forward or back (to simulate a clock step). */
  set(nowMs: number): void;
}

/** Options of {@link createFakeClock}. */
export interface FakeClockOptions {
  /**
   * Starting time, ms since the epoch.
   * @default 0
   */
  readonly nowMs?: number;
}

/**
 * Creates a manually driven clock for tests.
 *
 * @param options - the starting time.
 * @example
 * ```ts
 * const clock = createFakeClock({ nowMs: Date.UTC(2026, 0, 1) });
 * clock.advance(1000);
 * ```
 */
export function createFakeClock(options: FakeClockOptions = {}): FakeClock {
  let now = options.nowMs ?? 0;
  return {
    now: () => now,
    advance(ms) {
      if (!(ms >= 0)) throw new InvalidArgumentError(`advance(ms) needs ms ≥ 0, got ${ms}.`);
      now += ms;
    },
    set(nowMs) {
      now = nowMs;
    },
  };
}
