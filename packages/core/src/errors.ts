/**
 * Every error Fieldline throws or returns is a {@link FieldlineError}: a stable,
 * machine-readable `code` plus a message a person can act on. Subclasses narrow
 * the code to a literal union so callers can `switch` on it exhaustively.
 */

/**
 * Base class of every Fieldline error.
 *
 * @typeParam Code - the literal union of codes this error kind can carry.
 * @example
 * ```ts
 * if (isFieldlineError(err)) console.error(err.code, err.message);
 * ```
 */
export class FieldlineError<Code extends string = string> extends Error {
  /** Stable identifier of the failure; safe to match on across versions. */
  readonly code: Code;
  /** Structured context (offending paths, limits, ids); never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: Code,
    message: string,
    options?: { readonly details?: Record<string, unknown>; readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FieldlineError';
    this.code = code;
    this.details = options?.details;
  }

  /** A plain JSON form, matching the protocol's error body (`{ code, message, details? }`). */
  toJSON(): { code: Code; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Narrows an unknown value to a {@link FieldlineError}.
 *
 * @param value - anything caught or returned.
 * @returns true when `value` is a FieldlineError (from any copy of this package).
 */
export function isFieldlineError(value: unknown): value is FieldlineError {
  // Checked structurally too, because two copies of @fieldline/core (ESM and
  // CJS, or two versions) have distinct classes.
  if (value instanceof FieldlineError) return true;
  return (
    value instanceof Error &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function' &&
    value.name.endsWith('Error') &&
    'details' in value
  );
}

/**
 * Thrown when a function is called with options or arguments that can never work
 * (a programmer error, such as a negative batch size).
 */
export class InvalidArgumentError extends FieldlineError<'invalid_argument'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_argument', message, details === undefined ? undefined : { details });
    this.name = 'InvalidArgumentError';
  }
}

/**
 * Narrows an unknown value to an {@link InvalidArgumentError}.
 *
 * @param value - anything caught or returned.
 */
export function isInvalidArgumentError(value: unknown): value is InvalidArgumentError {
  return isFieldlineError(value) && value.code === 'invalid_argument';
}
