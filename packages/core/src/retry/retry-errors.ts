import { FieldlineError, isFieldlineError } from '../errors.js';

/**
 * Codes a {@link RetryError} can carry.
 *
 * - `retry_exhausted`: the attempt or time budget ran out and no attempt left an error behind.
 * - `retry_aborted`: the caller's `AbortSignal` fired; the signal's reason is the `cause`.
 * - `retry_reauthenticate`: the operation asked for new credentials without giving an error.
 */
export type RetryErrorCode = 'retry_exhausted' | 'retry_aborted' | 'retry_reauthenticate';

/**
 * The `error` of a failed {@link RetryResult} when no underlying error exists. It is returned,
 * never thrown, by {@link retry}.
 *
 * @example
 * ```ts
 * const result = await retry(send, policy);
 * if (result.status === 'aborted' && isRetryError(result.error)) log(result.error.code);
 * ```
 */
export class RetryError extends FieldlineError<RetryErrorCode> {
  /**
   * @param code - why retrying stopped.
   * @param message - a sentence a person can act on.
   * @param options - structured details (attempts, elapsed time) and the cause, if any.
   */
  constructor(
    code: RetryErrorCode,
    message: string,
    options?: { readonly details?: Record<string, unknown>; readonly cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'RetryError';
  }
}

const RETRY_ERROR_CODES: ReadonlySet<string> = new Set<RetryErrorCode>([
  'retry_exhausted',
  'retry_aborted',
  'retry_reauthenticate',
]);

/**
 * Narrows an unknown value to a {@link RetryError}.
 *
 * @param value - anything caught or found in a result.
 * @returns true when `value` is a RetryError (from any copy of this package).
 */
export function isRetryError(value: unknown): value is RetryError {
  return isFieldlineError(value) && RETRY_ERROR_CODES.has(value.code);
}
