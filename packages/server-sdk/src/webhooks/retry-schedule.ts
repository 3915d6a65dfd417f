import { InvalidArgumentError, type Random } from '@fieldline/core';

/** When failed deliveries are tried again. */
export interface WebhookRetrySchedule {
  /**
   * Attempts in all, the first included; a delivery whose last attempt failed becomes `dead`.
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * Delay after the first failed attempt, in ms; multiplied by `factor` after each further one.
   * @default 30000
   */
  readonly baseDelayMs?: number;
  /**
   * Growth of the delay per attempt.
   * @default 4
   */
  readonly factor?: number;
  /**
   * Longest delay, in ms.
   * @default 43200000 (12 h)
   */
  readonly maxDelayMs?: number;
}

/** {@link WebhookRetrySchedule} with its defaults. @internal */
export type ResolvedRetrySchedule = Required<WebhookRetrySchedule>;

/**
 * Applies the defaults: 8 attempts, delays of about 30 s, 2 min, 8 min, 32 min, 2.1 h, 8.5 h and
 * 12 h (≈ 23 h from the first attempt to the last).
 *
 * @param schedule - the caller's schedule.
 * @returns the schedule with defaults.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a value that
 *   is not a positive number.
 * @internal
 */
export function resolveRetrySchedule(schedule: WebhookRetrySchedule = {}): ResolvedRetrySchedule {
  const resolved = {
    maxAttempts: schedule.maxAttempts ?? 8,
    baseDelayMs: schedule.baseDelayMs ?? 30_000,
    factor: schedule.factor ?? 4,
    maxDelayMs: schedule.maxDelayMs ?? 43_200_000,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new InvalidArgumentError(`retry.${name} must be a positive number.`, { [name]: value });
    }
  }
  if (!Number.isSafeInteger(resolved.maxAttempts)) {
    throw new InvalidArgumentError('retry.maxAttempts must be an integer.', {});
  }
  return resolved;
}

/**
 * The wait after failed attempt `attempt`: the exponential delay with ±25 % jitter (so
 * deliveries that failed together do not all come back at once, and the schedule stays near
 * its documented length, which full jitter would not).
 *
 * @param attempt - the attempt that failed (1 for the first).
 * @param schedule - the resolved schedule.
 * @param random - the jitter source.
 * @returns the delay in ms.
 * @internal
 */
export function retryDelayMs(
  attempt: number,
  schedule: ResolvedRetrySchedule,
  random: Random,
): number {
  const ceiling = Math.min(
    schedule.maxDelayMs,
    schedule.baseDelayMs * schedule.factor ** Math.max(0, attempt - 1),
  );
  const draw = random.float();
  const unit = draw >= 0 && draw < 1 ? draw : 0.5;
  return Math.round(ceiling * (0.75 + unit * 0.5));
}
