import { describe, expect, it } from 'vitest';
import {
  isConsentRecordError,
  isConsentTransitionError,
} from '../../src/consent/consent-errors.js';
import {
  type ConsentRecord,
  canonicalConsentRecordBytes,
  parseConsentRecord,
} from '../../src/consent/consent-record.js';
import type { ConsentState } from '../../src/consent/consent-state.js';
import {
  type CreateConsentRecordOptions,
  createConsentRecord,
} from '../../src/consent/create-consent-record.js';
import { policyTextSha256 } from '../../src/consent/policy-text-hash.js';
import type { Random } from '../../src/contracts/random.js';
import { isInvalidArgumentError } from '../../src/errors.js';

const fixedRandom: Random = {
  float: () => 0.5,
  bytes: (length) => new Uint8Array(length).fill(7),
};

const parties = {
  subject: { deviceId: 'dev-1', userRef: 'user-42' },
  controller: { name: 'Acme GmbH', contact: 'privacy@acme.example' },
  policy: {
    url: 'https://acme.example/privacy/v3',
    purposes: {
      activity: 'Measure active time per application',
      network: 'Measure network volume per day',
    },
  },
  random: fixedRandom,
} as const;

const pending: ConsentState = { status: 'pending', policyVersion: 3 };
const granted: ConsentState = {
  status: 'granted',
  policyVersion: 3,
  scopes: ['activity', 'network'],
  grantedAt: Date.UTC(2024, 4, 1),
  expiresAt: Date.UTC(2025, 4, 1),
};

function build(
  options: Partial<CreateConsentRecordOptions> & Pick<CreateConsentRecordOptions, 'from' | 'event'>,
) {
  return createConsentRecord({ ...parties, ...options });
}

describe('createConsentRecord', () => {
  it('records a grant', () => {
    const at = Date.UTC(2024, 4, 1, 12);
    const record = build({
      from: pending,
      event: {
        type: 'grant',
        policyVersion: 3,
        scopes: ['network', 'activity'],
        at,
        expiresAt: at + 86_400_000,
      },
      method: 'agent-ui',
      jurisdiction: 'DE',
      language: 'de-DE',
    });
    expect(record).toEqual({
      version: 1,
      recordId: record.recordId,
      subject: { deviceId: 'dev-1', userRef: 'user-42' },
      controller: { name: 'Acme GmbH', contact: 'privacy@acme.example' },
      purposes: [
        {
          scope: 'activity',
          purpose: 'Measure active time per application',
          legalBasis: 'consent',
        },
        { scope: 'network', purpose: 'Measure network volume per day', legalBasis: 'consent' },
      ],
      policy: { version: 3, url: 'https://acme.example/privacy/v3' },
      state: 'granted',
      timestamps: {
        collectedAt: '2024-05-01T12:00:00.000Z',
        grantedAt: '2024-05-01T12:00:00.000Z',
        expiresAt: '2024-05-02T12:00:00.000Z',
      },
      method: 'agent-ui',
      jurisdiction: 'DE',
      language: 'de-DE',
    });
    // A UUIDv7 whose time prefix is the event time.
    expect(record.recordId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(Number.parseInt(record.recordId.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
    expect(parseConsentRecord(record)).toEqual({ ok: true, value: record });
  });

  it('records a partial withdrawal as the withdrawal of the removed scopes', () => {
    const at = Date.UTC(2024, 5, 1);
    const record = build({
      from: granted,
      event: { type: 'withdraw', at, scopes: ['network'] },
      method: 'admin-api',
    });
    expect(record.state).toBe('withdrawn');
    expect(record.purposes.map((p) => p.scope)).toEqual(['network']);
    expect(record.timestamps).toEqual({
      collectedAt: '2024-06-01T00:00:00.000Z',
      grantedAt: '2024-05-01T00:00:00.000Z',
      expiresAt: '2025-05-01T00:00:00.000Z',
      withdrawnAt: '2024-06-01T00:00:00.000Z',
    });
  });

  it('records a full withdrawal over every granted scope', () => {
    const record = build({
      from: granted,
      event: { type: 'withdraw', at: Date.UTC(2024, 5, 1) },
      method: 'agent-ui',
    });
    expect(record.purposes.map((p) => p.scope)).toEqual(['activity', 'network']);
  });

  it('records a refusal from pending over every purpose of the policy', () => {
    const record = build({ from: pending, event: { type: 'withdraw', at: 0 }, method: 'agent-ui' });
    expect(record.state).toBe('withdrawn');
    expect(record.purposes.map((p) => p.scope)).toEqual(['activity', 'network']);
    expect(record.timestamps).toEqual({
      collectedAt: '1970-01-01T00:00:00.000Z',
      withdrawnAt: '1970-01-01T00:00:00.000Z',
    });
  });

  it('records an expiry with method expiry', () => {
    const record = build({ from: granted, event: { type: 'expire', at: Date.UTC(2025, 4, 2) } });
    expect(record.state).toBe('expired');
    expect(record.method).toBe('expiry');
    expect(record.timestamps.expiresAt).toBe('2025-05-01T00:00:00.000Z');
    expect(record.timestamps.collectedAt).toBe('2025-05-02T00:00:00.000Z');
  });

  it('records a new policy version as pending, at the given time', () => {
    const record = build({
      from: granted,
      event: { type: 'policy_published', version: 4 },
      at: Date.UTC(2024, 6, 1),
    });
    expect(record).toMatchObject({
      state: 'pending',
      method: 'policy-update',
      policy: { version: 4 },
      timestamps: { collectedAt: '2024-07-01T00:00:00.000Z' },
    });
    expect(record.timestamps.grantedAt).toBeUndefined();
  });

  it('is deterministic given the record id source', () => {
    const options = {
      from: pending,
      event: { type: 'grant', policyVersion: 3, scopes: ['activity'], at: 1 },
      method: 'agent-ui',
    } as const;
    expect(build(options)).toEqual(build(options));
    expect(build({ ...options, recordId: '0190b0a0-0000-7000-8000-000000000000' }).recordId).toBe(
      '0190b0a0-0000-7000-8000-000000000000',
    );
  });

  it('throws the transition error for an illegal event', () => {
    try {
      build({
        from: pending,
        event: { type: 'grant', policyVersion: 2, scopes: ['activity'], at: 1 },
        method: 'agent-ui',
      });
      expect.unreachable();
    } catch (error) {
      expect(isConsentTransitionError(error) && error.code).toBe('policy_version_mismatch');
    }
  });

  it('throws InvalidArgumentError for inconsistent options', () => {
    const grant = { type: 'grant', policyVersion: 3, scopes: ['activity'], at: 1 } as const;
    const attempts: (() => unknown)[] = [
      () => build({ from: pending, event: grant }),
      () =>
        build({
          from: granted,
          event: { type: 'expire', at: Date.UTC(2026, 0) },
          method: 'agent-ui',
        }),
      () => build({ from: pending, event: { type: 'policy_published', version: 4 } }),
      () => build({ from: pending, event: grant, method: 'agent-ui', at: 2 }),
      () =>
        build({ from: pending, event: { ...grant, scopes: ['custom-other'] }, method: 'agent-ui' }),
      () => build({ from: pending, event: grant, method: 'agent-ui', jurisdiction: 'Germany' }),
      () => build({ from: pending, event: grant, method: 'agent-ui', subject: { deviceId: ' ' } }),
      () =>
        createConsentRecord({
          ...parties,
          policy: { purposes: { toString: 'inherited keys must not count' } },
          from: pending,
          event: { ...grant, scopes: ['constructor'] },
          method: 'agent-ui',
        }),
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

describe('createConsentRecord with a policy that describes its purposes', () => {
  const textSha256 = policyTextSha256('We measure how long you use each application.');
  const described = {
    ...parties.policy,
    textSha256,
    purposes: {
      activity: {
        purpose: 'Show how working time is spread over applications',
        collects: 'Names of the applications you use and for how long; never their content',
        retentionDays: 90,
      },
      network: 'Measure network volume per day',
    },
  };

  it('carries what was collected, how long it is kept and the hash of the text', () => {
    const record = createConsentRecord({
      ...parties,
      policy: described,
      from: pending,
      event: { type: 'grant', policyVersion: 3, scopes: ['activity', 'network'], at: 5 },
      method: 'agent-ui',
    });
    expect(record.policy).toEqual({ version: 3, url: parties.policy.url, textSha256 });
    expect(record.purposes).toEqual([
      {
        scope: 'activity',
        purpose: 'Show how working time is spread over applications',
        legalBasis: 'consent',
        collects: 'Names of the applications you use and for how long; never their content',
        retentionDays: 90,
      },
      { scope: 'network', purpose: 'Measure network volume per day', legalBasis: 'consent' },
    ]);
    expect(parseConsentRecord(JSON.parse(JSON.stringify(record)))).toEqual({
      ok: true,
      value: record,
    });
    // FIPS 180-2's "abc" vector: the digest is plain SHA-256 of the UTF-8 bytes, in hex.
    expect(policyTextSha256('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('refuses a retention or hash the record format cannot carry', () => {
    for (const policy of [
      { ...described, textSha256: 'ABC' },
      {
        ...described,
        purposes: { ...described.purposes, activity: { purpose: 'x', retentionDays: 0 } },
      },
      {
        ...described,
        purposes: { ...described.purposes, activity: { purpose: 'x', collects: ' ' } },
      },
    ]) {
      expect(() =>
        createConsentRecord({
          ...parties,
          policy,
          from: pending,
          event: { type: 'grant', policyVersion: 3, scopes: ['activity'], at: 5 },
          method: 'agent-ui',
        }),
      ).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    }
  });
});

describe('parseConsentRecord', () => {
  const valid = build({
    from: granted,
    event: { type: 'withdraw', at: Date.UTC(2024, 5, 1), scopes: ['network'] },
    method: 'agent-ui',
  });

  function codeOf(value: unknown): readonly string[] {
    const result = parseConsentRecord(value);
    if (result.ok) return [];
    expect(isConsentRecordError(result.error)).toBe(true);
    expect(result.error.code).toBe('invalid_consent_record');
    return result.error.details.issues.map((i) => i.path);
  }

  it('accepts a valid record', () => {
    expect(parseConsentRecord(JSON.parse(JSON.stringify(valid)))).toEqual({
      ok: true,
      value: valid,
    });
  });

  it('lists every failing path', () => {
    const broken = {
      ...valid,
      recordId: 'not-a-uuid',
      purposes: [{ scope: 'activity', purpose: 'x', legalBasis: 'contract' }],
      timestamps: { collectedAt: '2024-06-01T00:00:00Z' },
      extra: 1,
    };
    const paths = codeOf(broken);
    expect(paths).toEqual(
      expect.arrayContaining(['recordId', 'purposes.0.legalBasis', 'timestamps.collectedAt', '']),
    );
  });

  it('rejects inconsistent state, timestamps and method', () => {
    const t = valid.timestamps;
    expect(codeOf({ ...valid, timestamps: { collectedAt: t.collectedAt } })).toEqual([
      'timestamps.withdrawnAt',
    ]);
    expect(codeOf({ ...valid, state: 'granted' })).toEqual(['timestamps.withdrawnAt']);
    expect(codeOf({ ...valid, method: 'policy-update' })).toEqual(['method']);
    expect(codeOf({ ...valid, timestamps: { ...t, expiresAt: t.grantedAt } })).toEqual([
      'timestamps.expiresAt',
    ]);
    expect(codeOf({ ...valid, purposes: [...valid.purposes, ...valid.purposes] })).toEqual([
      'purposes',
    ]);
    expect(codeOf({ ...valid, policy: { version: 3, url: 'ftp://acme.example' } })).toEqual([
      'policy.url',
    ]);
    expect(
      codeOf({ ...valid, timestamps: { ...t, collectedAt: '2024-02-30T00:00:00.000Z' } }),
    ).toEqual(['timestamps.collectedAt']);
  });

  it('rejects non-objects', () => {
    for (const value of [null, 'record', 42, []]) expect(codeOf(value)).toEqual(['']);
  });
});

describe('canonicalConsentRecordBytes', () => {
  const record = build({
    from: pending,
    event: { type: 'grant', policyVersion: 3, scopes: ['activity'], at: Date.UTC(2024, 4, 1) },
    method: 'agent-ui',
    language: 'en',
  });

  function reversed(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(reversed);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reversed(v)]),
      );
    }
    return value;
  }

  it('gives the same bytes whatever the key order', () => {
    const shuffled = reversed(record) as ConsentRecord;
    expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(record));
    expect(canonicalConsentRecordBytes(shuffled)).toEqual(canonicalConsentRecordBytes(record));
  });

  it('is sorted, compact JSON in UTF-8', () => {
    const text = new TextDecoder().decode(canonicalConsentRecordBytes(record));
    expect(text).toBe(
      `{"controller":{"contact":"privacy@acme.example","name":"Acme GmbH"},"language":"en","method":"agent-ui",` +
        `"policy":{"url":"https://acme.example/privacy/v3","version":3},` +
        `"purposes":[{"legalBasis":"consent","purpose":"Measure active time per application","scope":"activity"}],` +
        `"recordId":"${record.recordId}","state":"granted","subject":{"deviceId":"dev-1","userRef":"user-42"},` +
        `"timestamps":{"collectedAt":"2024-05-01T00:00:00.000Z","grantedAt":"2024-05-01T00:00:00.000Z"},"version":1}`,
    );
    expect(JSON.parse(text)).toEqual(record);
  });

  it('changes when any signed field changes', () => {
    const other = { ...record, subject: { deviceId: 'dev-2', userRef: 'user-42' } };
    expect(canonicalConsentRecordBytes(other)).not.toEqual(canonicalConsentRecordBytes(record));
  });

  it('refuses to serialize an invalid record (no unsigned extras slip in)', () => {
    const withExtra = { ...record, note: 'not part of the format' } as ConsentRecord;
    try {
      canonicalConsentRecordBytes(withExtra);
      expect.unreachable();
    } catch (error) {
      expect(isConsentRecordError(error)).toBe(true);
    }
  });
});
