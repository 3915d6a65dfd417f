import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canCollect } from '../../src/consent/can-collect.js';
import { CONSENT_TRANSITION_ERROR_CODES } from '../../src/consent/consent-errors.js';
import type { ConsentEvent } from '../../src/consent/consent-event.js';
import {
  CONSENT_STATUSES,
  type ConsentState,
  consentStateSchema,
  UNKNOWN_CONSENT_STATE,
} from '../../src/consent/consent-state.js';
import { transitionConsent } from '../../src/consent/consent-transition.js';

const scope = fc.constantFrom('activity', 'network', 'operational', 'custom-a');
const time = fc.integer({ min: 0, max: 10_000 });
const version = fc.integer({ min: 1, max: 6 });

// Mostly well-formed events with small values, so sequences reach every state; some malformed.
const event: fc.Arbitrary<ConsentEvent> = fc.oneof(
  { weight: 3, arbitrary: version.map((v) => ({ type: 'policy_published' as const, version: v })) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        policyVersion: version,
        scopes: fc.array(scope, { maxLength: 3 }),
        at: time,
        expiresIn: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
      })
      .map(({ expiresIn, ...e }) =>
        expiresIn === undefined
          ? { type: 'grant' as const, ...e }
          : { type: 'grant' as const, ...e, expiresAt: e.at + expiresIn },
      ),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        at: time,
        scopes: fc.option(fc.array(scope, { maxLength: 3 }), { nil: undefined }),
      })
      .map(({ at, scopes }) =>
        scopes === undefined
          ? { type: 'withdraw' as const, at }
          : { type: 'withdraw' as const, at, scopes },
      ),
  },
  { weight: 2, arbitrary: time.map((at) => ({ type: 'expire' as const, at })) },
  { weight: 1, arbitrary: fc.anything().map((x) => x as ConsentEvent) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        type: fc.constantFrom('policy_published', 'grant', 'withdraw', 'expire', 'x'),
        at: fc.anything(),
      })
      .map((x) => x as unknown as ConsentEvent),
  },
);

const codes = new Set<string>(CONSENT_TRANSITION_ERROR_CODES);

describe('transition properties', () => {
  it('stays inside the state union and never throws, whatever the event sequence', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let state: ConsentState = UNKNOWN_CONSENT_STATE;
        for (const e of events) {
          const result = transitionConsent(state, e);
          if (result.ok) {
            state = result.value;
            expect(CONSENT_STATUSES).toContain(state.status);
            expect(consentStateSchema.safeParse(state).success).toBe(true);
          } else {
            expect(codes.has(result.error.code)).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never moves the policy version backwards', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let state: ConsentState = UNKNOWN_CONSENT_STATE;
        for (const e of events) {
          const result = transitionConsent(state, e);
          if (!result.ok) continue;
          if (state.status !== 'unknown' && result.value.status !== 'unknown') {
            expect(result.value.policyVersion).toBeGreaterThanOrEqual(state.policyVersion);
          }
          state = result.value;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('allows only the operational scope outside a live grant', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), scope, time, (events, s, at) => {
        let state: ConsentState = UNKNOWN_CONSENT_STATE;
        for (const e of events) {
          const result = transitionConsent(state, e);
          if (result.ok) state = result.value;
        }
        const allowed = canCollect(state, s, at);
        if (s === 'operational') expect(allowed).toBe(true);
        else if (state.status !== 'granted') expect(allowed).toBe(false);
        else
          expect(allowed).toBe(
            state.scopes.includes(s) &&
              at >= state.grantedAt &&
              (state.expiresAt === undefined || at < state.expiresAt),
          );
      }),
      { numRuns: 300 },
    );
  });

  it('leaves the state untouched on error and is deterministic', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 20 }), event, (prefix, last) => {
        let state: ConsentState = UNKNOWN_CONSENT_STATE;
        for (const e of prefix) {
          const result = transitionConsent(state, e);
          if (result.ok) state = result.value;
        }
        const before = structuredClone(state);
        const first = transitionConsent(state, last);
        const second = transitionConsent(state, last);
        expect(state).toEqual(before);
        expect(first.ok).toBe(second.ok);
        if (first.ok && second.ok) expect(first.value).toEqual(second.value);
        if (!first.ok && !second.ok) expect(first.error.code).toBe(second.error.code);
      }),
      { numRuns: 300 },
    );
  });
});
