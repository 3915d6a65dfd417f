import { FieldlineError, isFieldlineError } from '../errors.js';

/** One failing path of a validation, as reported in error details. */
export interface ValidationIssue {
  /** Dotted path to the offending value (`data.pid`, `events[3].id`); `''` for the root. */
  readonly path: string;
  /** What is wrong, for a person. */
  readonly message: string;
  /** Zod's issue code (`invalid_type`, `unrecognized_keys`, …). */
  readonly code: string;
}

/** Codes of {@link EventValidationError}. */
export type EventValidationErrorCode = 'invalid_event' | 'unknown_event_type';

/**
 * An event failed validation. `issues` lists every failing path, not only the
 * first, so a client can fix all of them in one go.
 */
export class EventValidationError extends FieldlineError<EventValidationErrorCode> {
  /** Every failing path. */
  readonly issues: readonly ValidationIssue[];

  constructor(code: EventValidationErrorCode, message: string, issues: readonly ValidationIssue[]) {
    super(code, message, { details: { issues } });
    this.name = 'EventValidationError';
    this.issues = issues;
  }
}

/**
 * Narrows an unknown value to an {@link EventValidationError}.
 *
 * @param value - anything caught or returned.
 */
export function isEventValidationError(value: unknown): value is EventValidationError {
  return (
    isFieldlineError(value) &&
    (value.code === 'invalid_event' || value.code === 'unknown_event_type')
  );
}

/** Codes of {@link EventDefinitionError}. */
export type EventDefinitionErrorCode =
  | 'invalid_event_definition'
  | 'forbidden_collection'
  | 'duplicate_event_type'
  | 'unsupported_zod_version';

/**
 * An event type cannot be defined or registered: a bad name or scope, a data
 * schema that is not a strict object (or comes from zod 3:
 * `unsupported_zod_version`), a field that looks like forbidden data, or a
 * name already taken. Thrown (it is a programmer error).
 */
export class EventDefinitionError extends FieldlineError<EventDefinitionErrorCode> {
  constructor(code: EventDefinitionErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? undefined : { details });
    this.name = 'EventDefinitionError';
  }
}

/**
 * Narrows an unknown value to an {@link EventDefinitionError}.
 *
 * @param value - anything caught or returned.
 */
export function isEventDefinitionError(value: unknown): value is EventDefinitionError {
  return (
    isFieldlineError(value) &&
    (value.code === 'invalid_event_definition' ||
      value.code === 'forbidden_collection' ||
      value.code === 'duplicate_event_type' ||
      value.code === 'unsupported_zod_version')
  );
}
