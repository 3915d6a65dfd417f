import type { z } from 'zod';
import { FieldlineError, isFieldlineError } from '../errors.js';
import type { ConsentEvent } from './consent-event.js';
import type { ConsentState } from './consent-state.js';

/** One failing location in a validated value. */
export interface ConsentIssue {
  /** Dotted path to the failing value (`purposes.0.scope`); empty for the value itself. */
  readonly path: string;
  /** What is wrong there. */
  readonly message: string;
}

/**
 * Every code a {@link ConsentTransitionError} can carry. See docs/consent.md for
 * the full transition table.
 */
export const CONSENT_TRANSITION_ERROR_CODES = Object.freeze([
  'invalid_event',
  'invalid_state',
  'empty_scopes',
  'no_policy',
  'stale_policy_version',
  'duplicate_policy_version',
  'policy_version_mismatch',
  'out_of_order',
  'not_granted',
  'scope_not_granted',
  'already_withdrawn',
  'already_expired',
  'not_expirable',
  'not_yet_expired',
] as const);

/**
 * Why a consent transition is illegal:
 * - `invalid_event`: the event is malformed (wrong shape, non-positive version,
 *   negative or fractional time, `expiresAt` not after `at`).
 * - `invalid_state`: the current state is malformed (e.g. corrupted storage).
 * - `empty_scopes`: a grant with no scopes, or a withdrawal with an explicit empty list.
 * - `no_policy`: no policy is known yet, so there is nothing to grant, withdraw or expire.
 * - `stale_policy_version`: a published version older than the current one.
 * - `duplicate_policy_version`: the current version published again (a duplicate delivery; safe to ignore).
 * - `policy_version_mismatch`: a grant for a policy version other than the current one.
 * - `out_of_order`: an event stamped before the current state's own time; the later decision wins.
 * - `not_granted`: a scoped withdrawal or an expiry while nothing is granted.
 * - `scope_not_granted`: a scoped withdrawal naming no granted scope (already withdrawn; safe to ignore).
 * - `already_withdrawn`: a withdrawal while withdrawn (a duplicate delivery; safe to ignore).
 * - `already_expired`: an expiry while expired (a duplicate delivery; safe to ignore).
 * - `not_expirable`: an expiry for a grant without `expiresAt`.
 * - `not_yet_expired`: an expiry before the grant's `expiresAt`.
 */
export type ConsentTransitionErrorCode = (typeof CONSENT_TRANSITION_ERROR_CODES)[number];

/** Context carried by every {@link ConsentTransitionError}. */
export type ConsentTransitionErrorDetails = {
  /** The state the transition was attempted from, as passed in. */
  readonly from: ConsentState;
  /** The event that was refused, as passed in. */
  readonly event: ConsentEvent;
  /** For `invalid_event` and `invalid_state`: what failed validation. */
  readonly issues?: readonly ConsentIssue[];
};

/**
 * An illegal consent transition. Returned by `transition`, thrown by
 * `transitionConsentOrThrow`. The state does not change when this happens.
 *
 * @example
 * ```ts
 * const result = transitionConsent(state, event);
 * if (!result.ok && result.error.code !== 'already_withdrawn') log(result.error.toJSON());
 * ```
 */
export class ConsentTransitionError extends FieldlineError<ConsentTransitionErrorCode> {
  declare readonly details: ConsentTransitionErrorDetails;

  /**
   * @param code - why the transition is illegal.
   * @param message - what happened, for a person.
   * @param details - the state and event involved.
   */
  constructor(
    code: ConsentTransitionErrorCode,
    message: string,
    details: ConsentTransitionErrorDetails,
  ) {
    super(code, message, { details });
    this.name = 'ConsentTransitionError';
  }
}

const transitionCodes: ReadonlySet<string> = new Set(CONSENT_TRANSITION_ERROR_CODES);

/**
 * Narrows an unknown value to a {@link ConsentTransitionError}.
 *
 * @param value - anything caught or returned.
 * @returns true when `value` is a ConsentTransitionError (from any copy of this package).
 */
export function isConsentTransitionError(value: unknown): value is ConsentTransitionError {
  if (value instanceof ConsentTransitionError) return true;
  return (
    isFieldlineError(value) &&
    value.name === 'ConsentTransitionError' &&
    transitionCodes.has(value.code)
  );
}

/** The code of a {@link ConsentRecordError}. */
export type ConsentRecordErrorCode = 'invalid_consent_record';

/** Context carried by a {@link ConsentRecordError}. */
export type ConsentRecordErrorDetails = {
  /** Every failing path, with what is wrong there. */
  readonly issues: readonly ConsentIssue[];
};

/**
 * A value that is not a valid consent record. Returned by `parseConsentRecord`,
 * thrown by `canonicalConsentRecordBytes` when given an invalid record.
 */
export class ConsentRecordError extends FieldlineError<ConsentRecordErrorCode> {
  declare readonly details: ConsentRecordErrorDetails;

  /**
   * @param message - what happened, for a person.
   * @param issues - every failing path.
   */
  constructor(message: string, issues: readonly ConsentIssue[]) {
    super('invalid_consent_record', message, { details: { issues } });
    this.name = 'ConsentRecordError';
  }
}

/**
 * Narrows an unknown value to a {@link ConsentRecordError}.
 *
 * @param value - anything caught or returned.
 * @returns true when `value` is a ConsentRecordError (from any copy of this package).
 */
export function isConsentRecordError(value: unknown): value is ConsentRecordError {
  if (value instanceof ConsentRecordError) return true;
  return (
    isFieldlineError(value) &&
    value.name === 'ConsentRecordError' &&
    value.code === 'invalid_consent_record'
  );
}

/**
 * Flattens zod issues into {@link ConsentIssue}s.
 *
 * @param error - a failed zod parse.
 * @returns one issue per zod issue, with a dotted path.
 * @internal
 */
export function toConsentIssues(error: z.ZodError): ConsentIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((key) => String(key)).join('.'),
    message: issue.message,
  }));
}

/**
 * Renders issues on one line for an error message.
 *
 * @param issues - the issues to render.
 * @returns `path: message` pairs joined by `; `.
 * @internal
 */
export function describeIssues(issues: readonly ConsentIssue[]): string {
  return issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; ');
}
