import { err, ok, type Result } from '../result.js';
import {
  type ConsentIssue,
  ConsentTransitionError,
  type ConsentTransitionErrorCode,
  describeIssues,
  toConsentIssues,
} from './consent-errors.js';
import {
  type ConsentEvent,
  type ConsentExpireEvent,
  type ConsentGrantEvent,
  type ConsentPolicyPublishedEvent,
  type ConsentWithdrawEvent,
  consentEventSchema,
} from './consent-event.js';
import { type ConsentState, consentStateSchema } from './consent-state.js';

type Reject = (
  code: ConsentTransitionErrorCode,
  message: string,
  issues?: readonly ConsentIssue[],
) => Result<ConsentState, ConsentTransitionError>;

/**
 * Applies one event to a consent state: the whole consent lifecycle as a pure
 * reducer. Never throws and never mutates its arguments; an illegal transition
 * comes back as an error and the caller keeps the state it had. Check order and
 * every cell of the transition table are in docs/consent.md.
 *
 * @param state - the current state.
 * @param event - what happened.
 * @returns the next state (frozen), or a {@link ConsentTransitionError} naming why the
 *   event is illegal in this state.
 * @example
 * ```ts
 * let state: ConsentState = UNKNOWN_CONSENT_STATE;
 * const r = transitionConsent(state, { type: 'policy_published', version: 1 });
 * if (r.ok) state = r.value; // { status: 'pending', policyVersion: 1 }
 * ```
 */
export function transitionConsent(
  state: ConsentState,
  event: ConsentEvent,
): Result<ConsentState, ConsentTransitionError> {
  const reject: Reject = (code, message, issues) =>
    err(
      new ConsentTransitionError(
        code,
        message,
        issues === undefined ? { from: state, event } : { from: state, event, issues },
      ),
    );

  // Event first: a malformed event is refused the same way whatever the state.
  const parsedEvent = consentEventSchema.safeParse(event);
  if (!parsedEvent.success) {
    const issues = toConsentIssues(parsedEvent.error);
    return reject('invalid_event', `Invalid consent event: ${describeIssues(issues)}`, issues);
  }
  const parsedState = consentStateSchema.safeParse(state);
  if (!parsedState.success) {
    const issues = toConsentIssues(parsedState.error);
    return reject('invalid_state', `Invalid consent state: ${describeIssues(issues)}`, issues);
  }
  const from = parsedState.data;
  const e = parsedEvent.data;
  switch (e.type) {
    case 'policy_published':
      return publish(from, e, reject);
    case 'grant':
      return grant(from, e, reject);
    case 'withdraw':
      return withdraw(from, e, reject);
    case 'expire':
      return expire(from, e, reject);
  }
}

/**
 * Like {@link transitionConsent}, but throws instead of returning an error. For callers
 * that have already checked the event, where an illegal transition is a bug.
 *
 * @param state - the current state.
 * @param event - what happened.
 * @returns the next state (frozen).
 * @throws {@link ConsentTransitionError} when the event is illegal in this state.
 * @example
 * ```ts
 * const next = transitionConsentOrThrow({ status: 'pending', policyVersion: 1 }, {
 *   type: 'grant', policyVersion: 1, scopes: ['activity'], at: Date.now(),
 * });
 * ```
 */
export function transitionConsentOrThrow(state: ConsentState, event: ConsentEvent): ConsentState {
  const result = transitionConsent(state, event);
  if (!result.ok) throw result.error;
  return result.value;
}

function publish(
  from: ConsentState,
  e: ConsentPolicyPublishedEvent,
  reject: Reject,
): Result<ConsentState, ConsentTransitionError> {
  if (from.status === 'unknown' || e.version > from.policyVersion) {
    return ok(Object.freeze({ status: 'pending', policyVersion: e.version }));
  }
  if (e.version === from.policyVersion) {
    return reject(
      'duplicate_policy_version',
      `Policy version ${e.version} is already the current version`,
    );
  }
  return reject(
    'stale_policy_version',
    `Policy version ${e.version} is older than the current version ${from.policyVersion}`,
  );
}

function grant(
  from: ConsentState,
  e: ConsentGrantEvent,
  reject: Reject,
): Result<ConsentState, ConsentTransitionError> {
  if (e.scopes.length === 0) return reject('empty_scopes', 'A grant needs at least one scope');
  if (from.status === 'unknown') {
    return reject('no_policy', 'Cannot grant consent before a policy is published');
  }
  if (e.policyVersion !== from.policyVersion) {
    // The subject saw another text than the one in force: their answer does not count.
    return reject(
      'policy_version_mismatch',
      `Grant is for policy version ${e.policyVersion} but the current version is ${from.policyVersion}`,
    );
  }
  const since = sinceOf(from);
  if (since !== undefined && e.at < since) {
    return reject(
      'out_of_order',
      `Grant at ${e.at} is older than the current ${from.status} state (${since})`,
    );
  }
  const scopes = Object.freeze([...new Set(e.scopes)].sort());
  return ok(
    Object.freeze(
      e.expiresAt === undefined
        ? { status: 'granted', policyVersion: from.policyVersion, scopes, grantedAt: e.at }
        : {
            status: 'granted',
            policyVersion: from.policyVersion,
            scopes,
            grantedAt: e.at,
            expiresAt: e.expiresAt,
          },
    ),
  );
}

function withdraw(
  from: ConsentState,
  e: ConsentWithdrawEvent,
  reject: Reject,
): Result<ConsentState, ConsentTransitionError> {
  if (e.scopes !== undefined && e.scopes.length === 0) {
    return reject(
      'empty_scopes',
      'A withdrawal lists scopes or omits the list; an empty list is ambiguous',
    );
  }
  if (from.status === 'unknown') {
    return reject('no_policy', 'Cannot withdraw consent before a policy is published');
  }
  if (from.status === 'withdrawn') {
    return reject('already_withdrawn', 'Consent is already withdrawn');
  }
  if (e.scopes !== undefined && from.status !== 'granted') {
    return reject('not_granted', `Cannot withdraw some scopes while consent is ${from.status}`);
  }
  const since = sinceOf(from);
  if (since !== undefined && e.at < since) {
    return reject(
      'out_of_order',
      `Withdrawal at ${e.at} is older than the current ${from.status} state (${since})`,
    );
  }
  const withdrawn = Object.freeze({
    status: 'withdrawn',
    policyVersion: from.policyVersion,
    withdrawnAt: e.at,
  } as const);
  if (from.status !== 'granted' || e.scopes === undefined) return ok(withdrawn);
  const removed = new Set(e.scopes);
  const remaining = from.scopes.filter((scope) => !removed.has(scope));
  if (remaining.length === from.scopes.length) {
    return reject('scope_not_granted', `None of the scopes ${e.scopes.join(', ')} is granted`);
  }
  if (remaining.length === 0) return ok(withdrawn);
  return ok(Object.freeze({ ...from, scopes: Object.freeze(remaining) }));
}

function expire(
  from: ConsentState,
  e: ConsentExpireEvent,
  reject: Reject,
): Result<ConsentState, ConsentTransitionError> {
  switch (from.status) {
    case 'unknown':
      return reject('no_policy', 'Nothing to expire: no policy is published');
    case 'expired':
      return reject('already_expired', 'Consent has already expired');
    case 'pending':
    case 'withdrawn':
      return reject('not_granted', `Nothing to expire: consent is ${from.status}`);
    case 'granted':
      if (from.expiresAt === undefined) {
        return reject('not_expirable', 'The grant has no expiry');
      }
      if (e.at < from.expiresAt) {
        return reject('not_yet_expired', `The grant expires at ${from.expiresAt}, after ${e.at}`);
      }
      return ok(
        Object.freeze({
          status: 'expired',
          policyVersion: from.policyVersion,
          expiredAt: from.expiresAt,
        }),
      );
  }
}

/** The instant the current state began, when it has one. */
function sinceOf(state: ConsentState): number | undefined {
  switch (state.status) {
    case 'granted':
      return state.grantedAt;
    case 'withdrawn':
      return state.withdrawnAt;
    case 'expired':
      return state.expiredAt;
    default:
      return undefined;
  }
}
