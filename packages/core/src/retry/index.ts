export { backoffCeilingMs, backoffDelayMs } from './backoff.js';
export type { ClassifyErrorOptions, ErrorClass, HttpStatusClass } from './classify.js';
export { classifyError, classifyHttpStatus } from './classify.js';
export type {
  RetryAttempt,
  RetryFailure,
  RetryOptions,
  RetryOutcome,
  RetryReason,
  RetryResult,
} from './retry.js';
export { retry } from './retry.js';
export type { ParseRetryAfterOptions } from './retry-after.js';
export { DEFAULT_MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry-after.js';
export type { RetryErrorCode } from './retry-errors.js';
export { isRetryError, RetryError } from './retry-errors.js';
export type { RetryPolicy, RetryPolicyOptions } from './retry-policy.js';
export { DEFAULT_RETRY_POLICY, resolveRetryPolicy } from './retry-policy.js';
export type { Sleep } from './sleep.js';
export { timerSleep } from './sleep.js';
