import {
  backoffDelayMs,
  InvalidArgumentError,
  type Random,
  type RetryPolicy,
  resolveRetryPolicy,
} from '@fieldline/core';

/** Resolved reconnect timings. */
export interface ReconnectBackoff {
  /** The cap, for the wait after a 4000 (replaced). */
  readonly capMs: number;
  /**
   * The wait before the next attempt after `failures` consecutive failures: full jitter, a
   * uniform draw from `[0, min(cap, base · 2^(failures − 1))]`.
   *
   * @param failures - consecutive failures so far (≥ 1).
   * @returns the delay in milliseconds.
   */
  delayMs(failures: number): number;
}

/**
 * Creates the reconnect backoff of the real-time client (core's full-jitter backoff; the
 * fleet returning from a server restart spreads over the whole window).
 *
 * @param options - base and cap in milliseconds, and the jitter source.
 * @returns the backoff.
 * @throws {@link InvalidArgumentError} when base or cap is not a positive number or base > cap.
 * @example
 * ```ts
 * createReconnectBackoff({ baseMs: 1_000, capMs: 60_000, random: systemRandom }).delayMs(3);
 * ```
 */
export function createReconnectBackoff(options: {
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly random: Random;
}): ReconnectBackoff {
  const baseMs = options.baseMs ?? 1_000;
  const capMs = options.capMs ?? 60_000;
  if (!(baseMs > 0) || !(capMs > 0) || baseMs > capMs) {
    throw new InvalidArgumentError('realtime.backoff needs 0 < baseMs ≤ capMs.', {
      baseMs,
      capMs,
    });
  }
  const policy: RetryPolicy = resolveRetryPolicy({
    baseDelayMs: baseMs,
    maxDelayMs: capMs,
    factor: 2,
  });
  return {
    capMs,
    delayMs: (failures) =>
      backoffDelayMs(Math.max(1, Math.floor(failures)), policy, options.random),
  };
}
