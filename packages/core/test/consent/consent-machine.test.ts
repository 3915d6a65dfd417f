import { describe, expect, it } from 'vitest';
import { createConsentMachine } from '../../src/consent/consent-machine.js';
import type { ConsentState } from '../../src/consent/consent-state.js';
import type { Clock } from '../../src/contracts/clock.js';
import { isInvalidArgumentError } from '../../src/errors.js';

function fakeClock(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    set: (ms) => {
      now = ms;
    },
  };
}

describe('createConsentMachine', () => {
  it('starts unknown and moves only on legal events', () => {
    const clock = fakeClock(1000);
    const machine = createConsentMachine({ clock });
    expect(machine.state).toEqual({ status: 'unknown' });

    const refused = machine.dispatch({
      type: 'grant',
      policyVersion: 1,
      scopes: ['activity'],
      at: 1000,
    });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('no_policy');
    expect(machine.state).toEqual({ status: 'unknown' });

    expect(machine.dispatch({ type: 'policy_published', version: 1 }).ok).toBe(true);
    const granted = machine.dispatch({
      type: 'grant',
      policyVersion: 1,
      scopes: ['activity'],
      at: 1000,
      expiresAt: 5000,
    });
    expect(granted.ok).toBe(true);
    expect(machine.state.status).toBe('granted');
  });

  it('answers canCollect at the clock time', () => {
    const clock = fakeClock(1000);
    const machine = createConsentMachine({
      clock,
      initial: {
        status: 'granted',
        policyVersion: 1,
        scopes: ['activity'],
        grantedAt: 1000,
        expiresAt: 5000,
      },
    });
    expect(machine.canCollect('activity')).toBe(true);
    expect(machine.canCollect('network')).toBe(false);
    clock.set(5000);
    expect(machine.canCollect('activity')).toBe(false);
    expect(machine.canCollect('operational')).toBe(true);
  });

  it('stops collecting the moment consent is withdrawn', () => {
    const clock = fakeClock(2000);
    const machine = createConsentMachine({
      clock,
      initial: {
        status: 'granted',
        policyVersion: 1,
        scopes: ['activity', 'network'],
        grantedAt: 1000,
      },
    });
    machine.dispatch({ type: 'withdraw', at: 2000, scopes: ['network'] });
    expect(machine.canCollect('network')).toBe(false);
    expect(machine.canCollect('activity')).toBe(true);
    machine.dispatch({ type: 'withdraw', at: 2000 });
    expect(machine.canCollect('activity')).toBe(false);
  });

  it('rejects a missing clock or a malformed initial state', () => {
    const clock = fakeClock(0);
    const attempts = [
      () => createConsentMachine({} as unknown as { clock: Clock }),
      () =>
        createConsentMachine({ clock, initial: { status: 'pending' } as unknown as ConsentState }),
    ];
    for (const attempt of attempts) {
      try {
        attempt();
        expect.unreachable();
      } catch (error) {
        expect(isInvalidArgumentError(error)).toBe(true);
      }
    }
  });
});
