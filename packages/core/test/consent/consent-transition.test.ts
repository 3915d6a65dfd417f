import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CONSENT_TRANSITION_ERROR_CODES,
  ConsentTransitionError,
  isConsentTransitionError,
} from '../../src/consent/consent-errors.js';
import type { ConsentEvent } from '../../src/consent/consent-event.js';
import type { ConsentState } from '../../src/consent/consent-state.js';
import {
  transitionConsent,
  transitionConsentOrThrow,
} from '../../src/consent/consent-transition.js';
import { FieldlineError, isFieldlineError } from '../../src/errors.js';

const V = 2;
const T = 1000;

const ROWS = [
  'unknown',
  'pending',
  'granted',
  'granted with expiresAt',
  'withdrawn',
  'expired',
] as const;
type Row = (typeof ROWS)[number];

const COLUMNS = [
  'publish v+1',
  'publish v',
  'publish v-1',
  'grant',
  'grant other v',
  'grant before T',
  'withdraw',
  'withdraw some',
  'withdraw every',
  'withdraw none granted',
  'withdraw before T',
  'expire due',
  'expire early',
] as const;
type Column = (typeof COLUMNS)[number];

const STATES: Record<Row, ConsentState> = {
  unknown: { status: 'unknown' },
  pending: { status: 'pending', policyVersion: V },
  granted: { status: 'granted', policyVersion: V, scopes: ['activity', 'network'], grantedAt: T },
  'granted with expiresAt': {
    status: 'granted',
    policyVersion: V,
    scopes: ['activity', 'network'],
    grantedAt: T,
    expiresAt: 5000,
  },
  withdrawn: { status: 'withdrawn', policyVersion: V, withdrawnAt: T },
  expired: { status: 'expired', policyVersion: V, expiredAt: T },
};

const EVENTS: Record<Column, ConsentEvent> = {
  'publish v+1': { type: 'policy_published', version: V + 1 },
  'publish v': { type: 'policy_published', version: V },
  'publish v-1': { type: 'policy_published', version: V - 1 },
  grant: { type: 'grant', policyVersion: V, scopes: ['activity'], at: 2000, expiresAt: 9000 },
  'grant other v': { type: 'grant', policyVersion: V + 1, scopes: ['activity'], at: 2000 },
  'grant before T': { type: 'grant', policyVersion: V, scopes: ['activity'], at: 500 },
  withdraw: { type: 'withdraw', at: 2000 },
  'withdraw some': { type: 'withdraw', at: 2000, scopes: ['network'] },
  'withdraw every': { type: 'withdraw', at: 2000, scopes: ['network', 'activity'] },
  'withdraw none granted': { type: 'withdraw', at: 2000, scopes: ['custom-other'] },
  'withdraw before T': { type: 'withdraw', at: 500 },
  'expire due': { type: 'expire', at: 6000 },
  'expire early': { type: 'expire', at: 3000 },
};

// The transition table of docs/consent.md, cell for cell (same column order as COLUMNS).
// biome-ignore format: laid out like the table it mirrors
const EXPECTED: Record<Row, readonly string[]> = {
  unknown: [
    'pending(n)', 'pending(n)', 'pending(n)',
    'no_policy', 'no_policy', 'no_policy',
    'no_policy', 'no_policy', 'no_policy', 'no_policy', 'no_policy',
    'no_policy', 'no_policy',
  ],
  pending: [
    'pending(n)', 'duplicate_policy_version', 'stale_policy_version',
    'granted(new)', 'policy_version_mismatch', 'granted(new)',
    'withdrawn(at)', 'not_granted', 'not_granted', 'not_granted', 'withdrawn(at)',
    'not_granted', 'not_granted',
  ],
  granted: [
    'pending(n)', 'duplicate_policy_version', 'stale_policy_version',
    'granted(new)', 'policy_version_mismatch', 'out_of_order',
    'withdrawn(at)', 'granted(S-W)', 'withdrawn(at)', 'scope_not_granted', 'out_of_order',
    'not_expirable', 'not_expirable',
  ],
  'granted with expiresAt': [
    'pending(n)', 'duplicate_policy_version', 'stale_policy_version',
    'granted(new)', 'policy_version_mismatch', 'out_of_order',
    'withdrawn(at)', 'granted(S-W)', 'withdrawn(at)', 'scope_not_granted', 'out_of_order',
    'expired(expiresAt)', 'not_yet_expired',
  ],
  withdrawn: [
    'pending(n)', 'duplicate_policy_version', 'stale_policy_version',
    'granted(new)', 'policy_version_mismatch', 'out_of_order',
    'already_withdrawn', 'already_withdrawn', 'already_withdrawn', 'already_withdrawn',
    'already_withdrawn',
    'not_granted', 'not_granted',
  ],
  expired: [
    'pending(n)', 'duplicate_policy_version', 'stale_policy_version',
    'granted(new)', 'policy_version_mismatch', 'out_of_order',
    'withdrawn(at)', 'not_granted', 'not_granted', 'not_granted', 'out_of_order',
    'already_expired', 'already_expired',
  ],
};

/** Turns a table cell into the exact state it stands for, or the error code. */
function expectedOutcome(
  cell: string,
  from: ConsentState,
  event: ConsentEvent,
): { readonly state: ConsentState } | { readonly code: string } {
  switch (cell) {
    case 'pending(n)':
      if (event.type !== 'policy_published') throw new Error('pending(n) needs a publish');
      return { state: { status: 'pending', policyVersion: event.version } };
    case 'granted(new)': {
      if (event.type !== 'grant') throw new Error('granted(new) needs a grant');
      const base = {
        status: 'granted' as const,
        policyVersion: V,
        scopes: [...new Set(event.scopes)].sort(),
        grantedAt: event.at,
      };
      return {
        state: event.expiresAt === undefined ? base : { ...base, expiresAt: event.expiresAt },
      };
    }
    case 'granted(S-W)': {
      if (from.status !== 'granted' || event.type !== 'withdraw' || event.scopes === undefined) {
        throw new Error('granted(S-W) needs a scoped withdrawal from granted');
      }
      const withdrawn = event.scopes;
      return { state: { ...from, scopes: from.scopes.filter((s) => !withdrawn.includes(s)) } };
    }
    case 'withdrawn(at)':
      if (from.status === 'unknown' || event.type !== 'withdraw')
        throw new Error('bad withdrawn(at)');
      return {
        state: { status: 'withdrawn', policyVersion: from.policyVersion, withdrawnAt: event.at },
      };
    case 'expired(expiresAt)':
      if (from.status !== 'granted' || from.expiresAt === undefined) throw new Error('bad expired');
      return { state: { status: 'expired', policyVersion: V, expiredAt: from.expiresAt } };
    default:
      return { code: cell };
  }
}

function readDocTable(): { header: string[]; rows: string[][] } {
  const doc = readFileSync(new URL('../../../../docs/consent.md', import.meta.url), 'utf8');
  const start = doc.indexOf('<!-- consent-transition-table:start -->');
  const end = doc.indexOf('<!-- consent-transition-table:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const lines = doc
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  const [header, , ...rows] = lines;
  return { header: header ?? [], rows };
}

describe('transition table', () => {
  it('matches docs/consent.md cell for cell', () => {
    const { header, rows } = readDocTable();
    expect(header).toEqual(['state', ...COLUMNS]);
    expect(rows).toEqual(ROWS.map((row) => [row, ...EXPECTED[row]]));
  });

  const cases = ROWS.flatMap((row) =>
    COLUMNS.map((column, i) => ({ row, column, cell: EXPECTED[row][i] as string })),
  );

  it.each(cases)('$row × $column → $cell', ({ row, column, cell }) => {
    const from = STATES[row];
    const event = EVENTS[column];
    const expected = expectedOutcome(cell, from, event);
    const result = transitionConsent(from, event);
    if ('state' in expected) {
      expect(result.ok ? result.value : result.error.code).toEqual(expected.state);
      if (result.ok) expect(Object.isFrozen(result.value)).toBe(true);
    } else {
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe(expected.code);
      expect(result.error).toBeInstanceOf(ConsentTransitionError);
      expect(result.error).toBeInstanceOf(FieldlineError);
      expect(result.error.details.from).toBe(from);
      expect(result.error.details.event).toBe(event);
      expect(isConsentTransitionError(result.error)).toBe(true);
      expect(result.error.message.length).toBeGreaterThan(0);
    }
  });

  it('covers every error code reachable from a state table cell or a rule of any state', () => {
    const inTable = new Set(Object.values(EXPECTED).flat());
    const anyState = ['invalid_event', 'invalid_state', 'empty_scopes'];
    for (const code of CONSENT_TRANSITION_ERROR_CODES) {
      expect(inTable.has(code) || anyState.includes(code), code).toBe(true);
    }
  });
});

describe('rules checked in every state', () => {
  const malformed: unknown[] = [
    null,
    'grant',
    {},
    { type: 'revoke', at: 1 },
    { type: 'policy_published', version: 0 },
    { type: 'policy_published', version: 1.5 },
    { type: 'policy_published', version: '3' },
    { type: 'policy_published', version: 3, extra: true },
    { type: 'grant', policyVersion: V, scopes: ['activity'], at: -1 },
    { type: 'grant', policyVersion: V, scopes: ['activity'], at: Number.NaN },
    { type: 'grant', policyVersion: V, scopes: ['activity'], at: 2000, expiresAt: 2000 },
    { type: 'grant', policyVersion: V, scopes: [''], at: 2000 },
    { type: 'grant', policyVersion: V, scopes: ['two words'], at: 2000 },
    { type: 'grant', policyVersion: V, scopes: 'activity', at: 2000 },
    { type: 'withdraw' },
    { type: 'withdraw', at: 2000, scopes: [42] },
    { type: 'expire', at: Number.POSITIVE_INFINITY },
  ];

  for (const row of ROWS) {
    it(`${row}: a malformed event is invalid_event`, () => {
      for (const event of malformed) {
        const result = transitionConsent(STATES[row], event as ConsentEvent);
        expect(result.ok ? 'ok' : result.error.code, JSON.stringify(event)).toBe('invalid_event');
        if (!result.ok) expect(result.error.details.issues?.length).toBeGreaterThan(0);
      }
    });

    it(`${row}: an empty scope list is empty_scopes`, () => {
      const grant = transitionConsent(STATES[row], {
        type: 'grant',
        policyVersion: V,
        scopes: [],
        at: 2000,
      });
      const withdraw = transitionConsent(STATES[row], { type: 'withdraw', at: 2000, scopes: [] });
      expect(grant.ok ? 'ok' : grant.error.code).toBe('empty_scopes');
      expect(withdraw.ok ? 'ok' : withdraw.error.code).toBe('empty_scopes');
    });
  }

  it('a malformed state is invalid_state', () => {
    const bad: unknown[] = [
      null,
      { status: 'revoked' },
      { status: 'pending' },
      { status: 'pending', policyVersion: 0 },
      { status: 'granted', policyVersion: 1, scopes: [], grantedAt: 0 },
      { status: 'granted', policyVersion: 1, scopes: ['a', 'a'], grantedAt: 0 },
      { status: 'granted', policyVersion: 1, scopes: ['a'], grantedAt: 10, expiresAt: 10 },
      { status: 'withdrawn', policyVersion: 1 },
    ];
    for (const state of bad) {
      const result = transitionConsent(state as ConsentState, {
        type: 'policy_published',
        version: 9,
      });
      expect(result.ok ? 'ok' : result.error.code, JSON.stringify(state)).toBe('invalid_state');
    }
  });
});

describe('transition details', () => {
  const granted = STATES.granted;

  it('stores granted scopes deduplicated and sorted', () => {
    const next = transitionConsentOrThrow(STATES.pending, {
      type: 'grant',
      policyVersion: V,
      scopes: ['network', 'activity', 'network'],
      at: 2000,
    });
    expect(next).toEqual({
      status: 'granted',
      policyVersion: V,
      scopes: ['activity', 'network'],
      grantedAt: 2000,
    });
  });

  it('ignores withdrawn scopes that are not granted when some are', () => {
    const next = transitionConsentOrThrow(granted, {
      type: 'withdraw',
      at: 2000,
      scopes: ['network', 'custom-other'],
    });
    expect(next).toEqual({ ...granted, scopes: ['activity'] });
  });

  it('accepts events stamped exactly at the state time', () => {
    expect(transitionConsent(granted, { type: 'withdraw', at: T }).ok).toBe(true);
    expect(
      transitionConsent(STATES.withdrawn, { type: 'grant', policyVersion: V, scopes: ['a'], at: T })
        .ok,
    ).toBe(true);
  });

  it('expires exactly at expiresAt, recording expiresAt as the lapse time', () => {
    const next = transitionConsentOrThrow(STATES['granted with expiresAt'], {
      type: 'expire',
      at: 5000,
    });
    expect(next).toEqual({ status: 'expired', policyVersion: V, expiredAt: 5000 });
  });

  it('publishes any positive version from unknown', () => {
    expect(
      transitionConsentOrThrow(STATES.unknown, { type: 'policy_published', version: 1 }),
    ).toEqual({
      status: 'pending',
      policyVersion: 1,
    });
  });

  it('does not mutate its arguments', () => {
    const from = structuredClone(granted);
    const event: ConsentEvent = { type: 'withdraw', at: 2000, scopes: ['network'] };
    const eventCopy = structuredClone(event);
    transitionConsent(from, event);
    expect(from).toEqual(granted);
    expect(event).toEqual(eventCopy);
  });

  it('transitionConsentOrThrow throws the same typed error', () => {
    const attempt = () =>
      transitionConsentOrThrow(STATES.withdrawn, { type: 'withdraw', at: 2000 });
    expect(attempt).toThrow(ConsentTransitionError);
    try {
      attempt();
    } catch (error) {
      expect(isConsentTransitionError(error)).toBe(true);
      expect(isFieldlineError(error)).toBe(true);
      if (isConsentTransitionError(error)) {
        expect(error.code).toBe('already_withdrawn');
        expect(error.toJSON()).toMatchObject({ code: 'already_withdrawn' });
      }
    }
  });

  it('isConsentTransitionError recognises a copy from another build and rejects others', () => {
    const foreign = new FieldlineError('already_withdrawn', 'copy', { details: {} });
    foreign.name = 'ConsentTransitionError';
    expect(isConsentTransitionError(foreign)).toBe(true);
    expect(
      isConsentTransitionError(new FieldlineError('already_withdrawn', 'x', { details: {} })),
    ).toBe(false);
    expect(isConsentTransitionError(new Error('no'))).toBe(false);
    expect(isConsentTransitionError({ code: 'no_policy' })).toBe(false);
  });
});
