/**
 * A source of wall-clock time. Injected everywhere time matters so tests and
 * simulations can drive @fieldline/core deterministically.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, like `Date.now()`. */
  now(): number;
}

/** The real clock, backed by `Date.now()`. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
