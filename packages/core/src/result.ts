/**
 * The outcome of an operation that can fail on untrusted input. Hot paths and
 * parsers return a Result instead of throwing, so one bad event never takes a
 * batch (or the host application) down with it.
 *
 * @typeParam T - the value on success.
 * @typeParam E - the error on failure.
 */
export type Result<T, E> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/**
 * Builds a successful {@link Result}.
 *
 * @param value - the value to wrap.
 */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/**
 * Builds a failed {@link Result}.
 *
 * @param error - the error to wrap.
 */
export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
