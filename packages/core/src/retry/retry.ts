import { type Clock, systemClock } from '../contracts/clock.js';
import { type Random, systemRandom } from '../contracts/random.js';
import { backoffDelayMs } from './backoff.js';
import { classifyError } from './classify.js';
import { RetryError } from './retry-errors.js';
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicyOptions,
  resolveRetryPolicy,
} from './retry-policy.js';
import { type Sleep, timerSleep } from './sleep.js';

/**
 * What one attempt reports back to {@link retry}. Map an HTTP response with
 * {@link classifyHttpStatus} and {@link parseRetryAfter}.
 *
 * @typeParam T - the value of a successful attempt.
 */
export type RetryOutcome<T> =
  | { readonly status: 'success'; readonly value: T }
  | {
      readonly status: 'retryable';
      /** The server's requested wait (from `Retry-After`), in milliseconds. */
      readonly retryAfterMs?: number;
      readonly error?: unknown;
    }
  | { readonly status: 'reauthenticate'; readonly error?: unknown }
  | { readonly status: 'fatal'; readonly error: unknown };

/**
 * One attempt of the operation {@link retry} repeats.
 *
 * @param attempt - 1 for the first try, 2 for the first retry, and so on.
 * @param signal - the caller's signal (a never-aborting one if none was given); pass it on to
 *   `fetch` so an abort also cancels the request in flight.
 * @returns an outcome; a thrown error is classified with {@link classifyError}.
 */
export type RetryAttempt<T> = (
  attempt: number,
  signal: AbortSignal,
) => RetryOutcome<T> | Promise<RetryOutcome<T>>;

/**
 * Why {@link retry} gave up, with how many attempts it made. `error` is the last attempt's error,
 * or a {@link RetryError} when there was none (`retry_exhausted`, `retry_aborted`,
 * `retry_reauthenticate`).
 *
 * - `exhausted`: `maxAttempts` or `maxElapsedMs` ran out, or the server's `Retry-After` reaches
 *   beyond the remaining time; `retryAfterMs` then says when to come back (spool until then);
 * - `fatal`: retrying cannot help;
 * - `reauthenticate`: get new credentials, then call `retry` again;
 * - `aborted`: the caller's signal fired.
 */
export interface RetryFailure {
  readonly status: 'exhausted' | 'fatal' | 'reauthenticate' | 'aborted';
  /** Attempts made, counting the first; 0 when the signal was aborted before the first. */
  readonly attempts: number;
  readonly error: unknown;
  /** On `exhausted`: the last attempt's `Retry-After`, in milliseconds, when it had one. */
  readonly retryAfterMs?: number;
}

/**
 * The result of {@link retry}: never thrown, always returned.
 *
 * @typeParam T - the value of a successful attempt.
 */
export type RetryResult<T> =
  | { readonly status: 'success'; readonly value: T; readonly attempts: number }
  | RetryFailure;

/** What {@link RetryOptions.onRetry} is told about the failure that caused a retry. */
export interface RetryReason {
  /** The failed attempt's error, if it reported or threw one. */
  readonly error: unknown;
  /** Whether the attempt threw (rather than returning a `retryable` outcome). */
  readonly thrown: boolean;
  /** The server's requested wait, in milliseconds, if any. */
  readonly retryAfterMs: number | undefined;
}

/** The injectable parts of {@link retry}. */
export interface RetryOptions {
  /**
   * Measures the elapsed-time budget.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Draws the jitter.
   * @default systemRandom
   */
  readonly random?: Random;
  /**
   * Waits between attempts; replace it to drive time yourself (tests, simulations, an event
   * loop of your own).
   * @default timerSleep
   */
  readonly sleep?: Sleep;
  /**
   * Stops retrying: a pending wait ends at once and the result is `aborted`.
   * @default undefined (never aborted)
   */
  readonly signal?: AbortSignal;
  /**
   * Called before each wait, for logs and metrics.
   * @param attempt - the attempt that just failed (1-based).
   * @param delayMs - the wait before the next attempt, in milliseconds.
   * @param reason - what went wrong.
   * @default undefined
   */
  readonly onRetry?: (attempt: number, delayMs: number, reason: RetryReason) => void;
}

function abortedResult(attempts: number, signal: AbortSignal): RetryFailure {
  return {
    status: 'aborted',
    attempts,
    error: new RetryError('retry_aborted', 'retry was aborted by the caller', {
      details: { attempts },
      cause: signal.reason,
    }),
  };
}

function validRetryAfterMs(value: number | undefined): number | undefined {
  return typeof value === 'number' && value >= 0 ? value : undefined;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the policy's budget runs out, waiting
 * between attempts with exponential back-off and full jitter.
 *
 * A `Retry-After` (an outcome's `retryAfterMs`) lengthens the wait to `max(backoff, retryAfter)`.
 * No attempt starts more than `maxElapsedMs` after the first: a back-off is shortened to fit,
 * but a server's `Retry-After` is not, so when it reaches beyond the remaining time `retry` gives
 * up at once with `status: 'exhausted'` and `retryAfterMs`, letting the caller spool the work
 * and come back later. `reauthenticate` and `fatal` outcomes end the loop immediately.
 *
 * @typeParam T - the value of a successful attempt.
 * @param attempt - the operation; see {@link RetryAttempt}.
 * @param policy - the budget and back-off shape; see {@link RetryPolicyOptions}.
 * @param options - clock, randomness, sleep, abort signal and `onRetry`.
 * @returns the result; runtime failures are returned, never thrown.
 * @throws rejects with {@link InvalidArgumentError} for an invalid `policy`, and with whatever
 *   `onRetry` throws (both are programmer errors).
 * @example
 * ```ts
 * const result = await retry(async (_attempt, signal) => {
 *   const res = await fetch(url, { method: 'POST', body, signal });
 *   const status = classifyHttpStatus(res.status);
 *   if (status === 'success') return { status, value: await res.json() };
 *   if (status === 'retryable') {
 *     return { status, retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), clock.now()) };
 *   }
 *   return { status, error: new Error(`HTTP ${res.status}`) };
 * }, { maxAttempts: 3 }, { signal });
 * ```
 */
export async function retry<T>(
  attempt: RetryAttempt<T>,
  policy: RetryPolicyOptions = DEFAULT_RETRY_POLICY,
  options: RetryOptions = {},
): Promise<RetryResult<T>> {
  const resolved = resolveRetryPolicy(policy);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  const sleep = options.sleep ?? timerSleep;
  const signal = options.signal ?? new AbortController().signal;
  const startedAtMs = clock.now();

  for (let attempts = 1; ; attempts++) {
    if (signal.aborted) return abortedResult(attempts - 1, signal);

    let outcome: RetryOutcome<T>;
    let thrown = false;
    try {
      outcome = await attempt(attempts, signal);
    } catch (error) {
      thrown = true;
      const errorClass = classifyError(error, { signal });
      if (errorClass === 'aborted') return abortedResult(attempts, signal);
      outcome =
        errorClass === 'retryable' ? { status: 'retryable', error } : { status: 'fatal', error };
    }

    switch (outcome.status) {
      case 'success':
        return { status: 'success', value: outcome.value, attempts };
      case 'fatal':
        return { status: 'fatal', attempts, error: outcome.error };
      case 'reauthenticate':
        return {
          status: 'reauthenticate',
          attempts,
          error:
            outcome.error ??
            new RetryError('retry_reauthenticate', 'the server asked for new credentials', {
              details: { attempts },
            }),
        };
      case 'retryable':
        break;
    }
    // The attempt may have noticed the abort and reported "retryable"; the caller wants out.
    if (signal.aborted) return abortedResult(attempts, signal);

    const retryAfterMs = validRetryAfterMs(outcome.retryAfterMs);
    const elapsedMs = clock.now() - startedAtMs;
    const remainingMs = resolved.maxElapsedMs - elapsedMs;
    if (
      attempts >= resolved.maxAttempts ||
      remainingMs <= 0 ||
      (retryAfterMs !== undefined && retryAfterMs > remainingMs)
    ) {
      const error =
        outcome.error ??
        new RetryError('retry_exhausted', `gave up after ${attempts} attempt(s)`, {
          details: { attempts, elapsedMs, retryAfterMs },
        });
      return retryAfterMs === undefined
        ? { status: 'exhausted', attempts, error }
        : { status: 'exhausted', attempts, error, retryAfterMs };
    }

    const delayMs = Math.min(
      Math.max(backoffDelayMs(attempts, resolved, random), retryAfterMs ?? 0),
      remainingMs,
    );
    options.onRetry?.(attempts, delayMs, { error: outcome.error, thrown, retryAfterMs });
    try {
      await sleep(delayMs, signal);
    } catch (error) {
      if (signal.aborted) return abortedResult(attempts, signal);
      // A custom sleep failed on its own; there is no sound way to keep waiting.
      return { status: 'fatal', attempts, error };
    }
  }
}
