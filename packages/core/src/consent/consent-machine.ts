import type { Clock } from '../contracts/clock.js';
import { InvalidArgumentError } from '../errors.js';
import type { Result } from '../result.js';
import { canCollect } from './can-collect.js';
import { type ConsentTransitionError, describeIssues, toConsentIssues } from './consent-errors.js';
import type { ConsentEvent } from './consent-event.js';
import { type ConsentState, consentStateSchema, UNKNOWN_CONSENT_STATE } from './consent-state.js';
import { transitionConsent } from './consent-transition.js';

/** Options of {@link createConsentMachine}. */
export interface ConsentMachineOptions {
  /**
   * The state to start from, e.g. read back from storage.
   *
   * @default UNKNOWN_CONSENT_STATE
   */
  readonly initial?: ConsentState;
  /** The time source of {@link ConsentMachine.canCollect}. */
  readonly clock: Clock;
}

/**
 * A consent state held in one place: {@link transitionConsent} plus the current state,
 * for an agent that keeps a single subject's consent in memory.
 */
export interface ConsentMachine {
  /** The current state. */
  readonly state: ConsentState;
  /**
   * Applies an event. On success the machine moves to the new state; on error it
   * stays where it was.
   *
   * @param event - what happened.
   * @returns the new state, or why the event is illegal now.
   */
  dispatch(event: ConsentEvent): Result<ConsentState, ConsentTransitionError>;
  /**
   * Whether data of `scope` may be collected now (per the clock); see `canCollect`.
   *
   * @param scope - the consent scope of the data.
   * @returns true when collection is allowed.
   */
  canCollect(scope: string): boolean;
}

/**
 * Creates a {@link ConsentMachine}: a small stateful wrapper around the pure
 * {@link transitionConsent} reducer and the `canCollect` gate.
 *
 * @param options - the initial state and the clock.
 * @returns a machine starting at `options.initial`.
 * @throws {@link InvalidArgumentError} when the clock is missing or the initial state is malformed.
 * @example
 * ```ts
 * const consent = createConsentMachine({ clock: systemClock });
 * consent.dispatch({ type: 'policy_published', version: 1 });
 * consent.dispatch({ type: 'grant', policyVersion: 1, scopes: ['activity'], at: Date.now() });
 * consent.canCollect('activity'); // true
 * ```
 */
export function createConsentMachine(options: ConsentMachineOptions): ConsentMachine {
  const clock = options?.clock;
  if (typeof clock?.now !== 'function') {
    throw new InvalidArgumentError('createConsentMachine needs a clock with a now() method');
  }
  const initial = options.initial ?? UNKNOWN_CONSENT_STATE;
  const parsed = consentStateSchema.safeParse(initial);
  if (!parsed.success) {
    const issues = toConsentIssues(parsed.error);
    throw new InvalidArgumentError(`Invalid initial consent state: ${describeIssues(issues)}`, {
      issues,
    });
  }
  let current: ConsentState = initial;
  return {
    get state() {
      return current;
    },
    dispatch(event) {
      const result = transitionConsent(current, event);
      if (result.ok) current = result.value;
      return result;
    },
    canCollect(scope) {
      return canCollect(current, scope, clock.now());
    },
  };
}
