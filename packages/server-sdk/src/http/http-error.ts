import {
  type ErrorBody,
  errorBody,
  FieldlineError,
  HTTP_ERROR_STATUS,
  type HttpErrorCode,
  isFieldlineError,
} from '@fieldline/core';

/**
 * A request failed in a way the client can act on: a documented code, the
 * status that goes with it (from protocol v1's `HTTP_ERROR_STATUS`), and
 * optional headers such as `retry-after`. Handlers throw it; the adapters turn
 * it into the JSON error body.
 *
 * @example
 * ```ts
 * throw new HttpError('rate_limited', 'Too many batches; retry in 2 s.', { headers: { 'retry-after': '2' } });
 * ```
 */
export class HttpError extends FieldlineError<HttpErrorCode> {
  /** HTTP status sent with it. */
  readonly status: number;
  /** Extra response headers (lowercase names). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: HttpErrorCode,
    message: string,
    options?: {
      readonly details?: Record<string, unknown>;
      readonly headers?: Record<string, string>;
      readonly cause?: unknown;
    },
  ) {
    super(code, message, options);
    this.name = 'HttpError';
    this.status = HTTP_ERROR_STATUS[code];
    this.headers = options?.headers ?? {};
  }

  /** The protocol's error body for this error. */
  toBody(): ErrorBody {
    return errorBody(
      this.code,
      this.message,
      this.details === undefined ? undefined : { ...this.details },
    );
  }
}

/**
 * Narrows an unknown value to an {@link HttpError}.
 *
 * @param value - anything caught.
 */
export function isHttpError(value: unknown): value is HttpError {
  return (
    isFieldlineError(value) &&
    typeof (value as { status?: unknown }).status === 'number' &&
    (value.code as string) in HTTP_ERROR_STATUS
  );
}
