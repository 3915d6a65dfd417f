import type { Random } from '../contracts/random.js';
import { InvalidArgumentError } from '../errors.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * The upper bound of the back-off after a failed `attempt`:
 * `min(maxDelayMs, baseDelayMs · factor^(attempt − 1))`.
 *
 * @param attempt - the 1-based number of the attempt that just failed.
 * @param policy - a resolved policy (see {@link resolveRetryPolicy}).
 * @returns the bound in milliseconds; never above `policy.maxDelayMs`.
 * @throws {@link InvalidArgumentError} when `attempt` is not an integer ≥ 1.
 * @example
 * ```ts
 * backoffCeilingMs(3, DEFAULT_RETRY_POLICY); // 2000
 * ```
 */
export function backoffCeilingMs(attempt: number, policy: RetryPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new InvalidArgumentError('backoff: attempt must be an integer ≥ 1', { attempt });
  }
  if (policy.baseDelayMs === 0) return 0;
  // factor^(attempt-1) overflows to Infinity for large attempts; min() then yields the cap.
  // (The zero base is handled above because 0 · Infinity is NaN.)
  const exponential = policy.baseDelayMs * policy.factor ** (attempt - 1);
  return Math.min(policy.maxDelayMs, exponential);
}

/**
 * Exponential back-off with full jitter: a delay drawn uniformly from
 * `[0, backoffCeilingMs(attempt, policy)]`, rounded to whole milliseconds. Full jitter spreads a
 * fleet of agents that failed together (a server restart) across the whole window instead of
 * letting them return in lock-step.
 *
 * @param attempt - the 1-based number of the attempt that just failed.
 * @param policy - a resolved policy (see {@link resolveRetryPolicy}).
 * @param random - the source of jitter; inject a seeded one to replay a schedule.
 * @returns the delay before the next attempt, in milliseconds.
 * @throws {@link InvalidArgumentError} when `attempt` is not an integer ≥ 1.
 * @example
 * ```ts
 * const delayMs = backoffDelayMs(2, DEFAULT_RETRY_POLICY, systemRandom); // 0..1000
 * ```
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: Random): number {
  const ceiling = backoffCeilingMs(attempt, policy);
  const draw = random.float();
  // A misbehaving Random must not push the delay outside the documented window.
  const unit = draw >= 0 && draw <= 1 ? draw : 0;
  return Math.round(unit * ceiling);
}
