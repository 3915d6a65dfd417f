import { describe, expect, it } from 'vitest';
import { canCollect } from '../../src/consent/can-collect.js';
import {
  ACTIVITY_SCOPE,
  BUILT_IN_SCOPES,
  NETWORK_SCOPE,
  OPERATIONAL_SCOPE,
} from '../../src/consent/consent-scopes.js';
import type { ConsentState } from '../../src/consent/consent-state.js';

const granted: ConsentState = {
  status: 'granted',
  policyVersion: 1,
  scopes: ['activity'],
  grantedAt: 1000,
  expiresAt: 2000,
};

const everyState: readonly ConsentState[] = [
  { status: 'unknown' },
  { status: 'pending', policyVersion: 1 },
  granted,
  { status: 'granted', policyVersion: 1, scopes: ['activity'], grantedAt: 1000 },
  { status: 'withdrawn', policyVersion: 1, withdrawnAt: 1000 },
  { status: 'expired', policyVersion: 1, expiredAt: 1000 },
];

describe('canCollect', () => {
  it('allows a granted scope from grantedAt up to, not including, expiresAt', () => {
    expect(canCollect(granted, 'activity', 999)).toBe(false);
    expect(canCollect(granted, 'activity', 1000)).toBe(true);
    expect(canCollect(granted, 'activity', 1999)).toBe(true);
    expect(canCollect(granted, 'activity', 2000)).toBe(false);
    expect(canCollect(granted, 'activity', 2001)).toBe(false);
  });

  it('has no upper bound for a grant without expiresAt', () => {
    const open: ConsentState = {
      status: 'granted',
      policyVersion: 1,
      scopes: ['activity'],
      grantedAt: 0,
    };
    expect(canCollect(open, 'activity', Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('refuses a scope that is not granted', () => {
    expect(canCollect(granted, 'network', 1500)).toBe(false);
    expect(canCollect(granted, 'Activity', 1500)).toBe(false);
    expect(canCollect(granted, '', 1500)).toBe(false);
  });

  it('refuses every consent-based scope outside granted', () => {
    for (const state of everyState.filter((s) => s.status !== 'granted')) {
      for (const scope of [ACTIVITY_SCOPE, NETWORK_SCOPE, 'custom-scope']) {
        expect(canCollect(state, scope, 1500), `${state.status}/${scope}`).toBe(false);
      }
    }
  });

  it('always allows the operational scope, in every state and at any time', () => {
    for (const state of everyState) {
      for (const at of [0, 999, 1500, 2000, Number.MAX_SAFE_INTEGER, Number.NaN]) {
        expect(canCollect(state, OPERATIONAL_SCOPE, at), `${state.status}@${at}`).toBe(true);
      }
    }
  });

  it('fails closed on a malformed state or time', () => {
    expect(canCollect(granted, 'activity', Number.NaN)).toBe(false);
    expect(canCollect(granted, 'activity', Number.POSITIVE_INFINITY)).toBe(false);
    expect(canCollect(null as unknown as ConsentState, 'activity', 1500)).toBe(false);
    const noScopes = {
      status: 'granted',
      policyVersion: 1,
      grantedAt: 0,
    } as unknown as ConsentState;
    expect(canCollect(noScopes, 'activity', 1500)).toBe(false);
  });

  it('lists the built-in scopes', () => {
    expect(BUILT_IN_SCOPES).toEqual(['activity', 'network', 'operational']);
    expect(Object.isFrozen(BUILT_IN_SCOPES)).toBe(true);
  });
});
