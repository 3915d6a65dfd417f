import { InvalidArgumentError } from '../errors.js';

/**
 * How hard {@link retry} tries. Every field is optional; {@link resolveRetryPolicy} fills in the
 * defaults and rejects values that can never work.
 */
export interface RetryPolicyOptions {
  /**
   * Upper bound of the first back-off (before attempt 2), in milliseconds. Must be ≥ 0.
   * @default 500
   */
  readonly baseDelayMs?: number;
  /**
   * Growth of the back-off bound per attempt. Must be ≥ 1.
   * @default 2
   */
  readonly factor?: number;
  /**
   * Cap on any single back-off bound, in milliseconds. Must be ≥ `baseDelayMs`.
   * @default 30_000
   */
  readonly maxDelayMs?: number;
  /**
   * Most attempts in total, counting the first try. An integer ≥ 1, or `Infinity` when
   * `maxElapsedMs` is finite.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Most time from the start of the first attempt until the start of the last one, in
   * milliseconds. Must be ≥ 0; `Infinity` is allowed when `maxAttempts` is finite.
   * @default 120_000
   */
  readonly maxElapsedMs?: number;
}

/** A validated {@link RetryPolicyOptions} with every default filled in. */
export type RetryPolicy = Readonly<Required<RetryPolicyOptions>>;

/** The policy {@link retry} uses when given none. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  baseDelayMs: 500,
  factor: 2,
  maxDelayMs: 30_000,
  maxAttempts: 5,
  maxElapsedMs: 120_000,
});

function fail(option: keyof RetryPolicyOptions, value: unknown, requirement: string): never {
  throw new InvalidArgumentError(`retry policy: ${option} must be ${requirement}`, {
    option,
    value,
  });
}

function isNonNegativeNumber(value: number): boolean {
  return typeof value === 'number' && !Number.isNaN(value) && value >= 0;
}

/**
 * Fills in defaults and validates a retry policy.
 *
 * @param options - the fields to override; omitted fields take their defaults.
 * @returns a frozen, complete policy.
 * @throws {@link InvalidArgumentError} for a value that can never work: a negative or `NaN`
 *   delay, a `factor` below 1, `maxDelayMs` below `baseDelayMs`, a `maxAttempts` that is not a
 *   positive integer, or both budgets infinite (that would retry forever; spool instead).
 * @example
 * ```ts
 * const policy = resolveRetryPolicy({ maxAttempts: 3 });
 * ```
 */
export function resolveRetryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  const policy = {
    baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    factor: options.factor ?? DEFAULT_RETRY_POLICY.factor,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
    maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    maxElapsedMs: options.maxElapsedMs ?? DEFAULT_RETRY_POLICY.maxElapsedMs,
  };
  if (!isNonNegativeNumber(policy.baseDelayMs) || !Number.isFinite(policy.baseDelayMs)) {
    fail('baseDelayMs', policy.baseDelayMs, 'a finite number ≥ 0');
  }
  if (!Number.isFinite(policy.factor) || !(policy.factor >= 1)) {
    fail('factor', policy.factor, 'a finite number ≥ 1');
  }
  if (!isNonNegativeNumber(policy.maxDelayMs) || !Number.isFinite(policy.maxDelayMs)) {
    fail('maxDelayMs', policy.maxDelayMs, 'a finite number ≥ 0');
  }
  if (policy.maxDelayMs < policy.baseDelayMs) {
    fail('maxDelayMs', policy.maxDelayMs, `≥ baseDelayMs (${policy.baseDelayMs})`);
  }
  if (
    !(Number.isInteger(policy.maxAttempts) || policy.maxAttempts === Number.POSITIVE_INFINITY) ||
    policy.maxAttempts < 1
  ) {
    fail('maxAttempts', policy.maxAttempts, 'an integer ≥ 1 or Infinity');
  }
  if (!isNonNegativeNumber(policy.maxElapsedMs)) {
    fail('maxElapsedMs', policy.maxElapsedMs, 'a number ≥ 0 or Infinity');
  }
  if (
    policy.maxAttempts === Number.POSITIVE_INFINITY &&
    policy.maxElapsedMs === Number.POSITIVE_INFINITY
  ) {
    fail('maxAttempts', policy.maxAttempts, 'finite when maxElapsedMs is Infinity');
  }
  return Object.freeze(policy);
}
