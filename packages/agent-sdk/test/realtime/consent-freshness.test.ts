import type { ConsentSnapshot } from '@fieldline/core';
import { describe, expect, it } from 'vitest';
import { isOlderConsent } from '../../src/realtime/consent-freshness.js';

const T1 = '2026-01-01T00:00:01.000Z';
const T2 = '2026-01-01T00:00:02.000Z';
const unknown: ConsentSnapshot = { status: 'unknown' };
const pending1: ConsentSnapshot = { status: 'pending', policyVersion: 1 };
const pending2: ConsentSnapshot = { status: 'pending', policyVersion: 2 };
const granted1: ConsentSnapshot = {
  status: 'granted',
  policyVersion: 1,
  scopes: ['activity', 'network'],
  grantedAt: T1,
};
const narrowed1: ConsentSnapshot = { ...granted1, scopes: ['activity'] };
const withdrawn1: ConsentSnapshot = { status: 'withdrawn', policyVersion: 1, withdrawnAt: T2 };
const regranted1: ConsentSnapshot = { ...granted1, grantedAt: '2026-01-01T00:00:03.000Z' };
const withdrawnAtGrant: ConsentSnapshot = {
  status: 'withdrawn',
  policyVersion: 1,
  withdrawnAt: T1,
};

describe('isOlderConsent', () => {
  it('calls a pending snapshot older than any decision on its policy version', () => {
    // The start-up flap: a consent.updated(pending) command queued at publication, delivered
    // after the heartbeat answered granted.
    expect(isOlderConsent(pending1, granted1)).toBe(true);
    expect(isOlderConsent(pending1, withdrawn1)).toBe(true);
    expect(isOlderConsent(granted1, pending1)).toBe(false);
  });

  it('lets a new policy version re-ask, and never an old one', () => {
    expect(isOlderConsent(pending2, granted1)).toBe(false);
    expect(isOlderConsent(granted1, pending2)).toBe(true);
  });

  it('orders decisions of one version by their server time', () => {
    expect(isOlderConsent(granted1, withdrawn1)).toBe(true);
    expect(isOlderConsent(withdrawn1, granted1)).toBe(false);
    expect(isOlderConsent(withdrawn1, regranted1)).toBe(true);
    expect(isOlderConsent(regranted1, withdrawn1)).toBe(false);
  });

  it('treats unknown as the oldest state and equal snapshots as not older', () => {
    expect(isOlderConsent(unknown, pending1)).toBe(true);
    expect(isOlderConsent(pending1, unknown)).toBe(false);
    expect(isOlderConsent(granted1, granted1)).toBe(false);
    expect(isOlderConsent(unknown, unknown)).toBe(false);
  });

  it('breaks a same-millisecond tie towards collecting less', () => {
    // A scoped withdrawal keeps grantedAt: the wider grant is the stale one.
    expect(isOlderConsent(granted1, narrowed1)).toBe(true);
    expect(isOlderConsent(narrowed1, granted1)).toBe(false);
    expect(isOlderConsent(granted1, withdrawnAtGrant)).toBe(true);
    expect(isOlderConsent(withdrawnAtGrant, granted1)).toBe(false);
  });
});
