/** An API call that failed: the server's error code and message, or a network/shape failure. */
export class ApiError extends Error {
  /** The error body's `code`, or `network_error` / `invalid_response` for failures here. */
  readonly code: string;
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/**
 * Narrows an unknown thrown value to {@link ApiError}.
 *
 * @param error - what was caught.
 * @returns whether it is an {@link ApiError}.
 */
export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/**
 * The sentence to show a person for a failure.
 *
 * @param error - what was caught.
 * @returns the message.
 */
export function describeError(error: unknown): string {
  if (isApiError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}
