import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  consentSnapshotSchema,
  dropCountsSchema,
  enrollRequestSchema,
  errorBody,
  errorBodySchema,
  eventsResponseSchema,
  HTTP_ERROR_STATUS,
  protocolJsonSchema,
  protocolSchemas,
  ROUTES,
  realtimeFrameSchema,
} from '../../src/protocol/index.js';

const KEY = 'A'.repeat(43);

describe('protocol schemas', () => {
  it('accept a valid enroll request and reject unknown keys and bad keys', () => {
    const valid = {
      hostname: 'lab-07',
      os: 'linux',
      arch: 'x64',
      publicKeys: { signingPublicKey: KEY, encryptionPublicKey: KEY },
    };
    expect(enrollRequestSchema.safeParse(valid).success).toBe(true);
    expect(enrollRequestSchema.safeParse({ ...valid, admin: true }).success).toBe(false);
    expect(
      enrollRequestSchema.safeParse({
        ...valid,
        publicKeys: { signingPublicKey: 'short', encryptionPublicKey: KEY },
      }).success,
    ).toBe(false);
  });

  it('describe per-event results with partial success', () => {
    const response = {
      batchId: '019a8c2e-4f1b-7c3d-9e2f-0a1b2c3d4e5f',
      results: [
        { id: 'a', status: 'accepted' },
        { id: 'b', status: 'duplicate' },
        {
          id: 'c',
          status: 'rejected',
          code: 'consent_required',
          message: 'no consent for activity',
        },
      ],
      accepted: 1,
      duplicates: 1,
      rejected: 1,
      consent: { status: 'pending', policyVersion: 2 },
      commands: [],
    };
    expect(eventsResponseSchema.safeParse(response).success).toBe(true);
    const rejectedWithoutCode = structuredClone(response);
    rejectedWithoutCode.results[2] = { id: 'c', status: 'rejected' } as never;
    expect(eventsResponseSchema.safeParse(rejectedWithoutCode).success).toBe(false);
  });

  it('discriminate consent snapshots on status', () => {
    expect(
      consentSnapshotSchema.safeParse({
        status: 'granted',
        policyVersion: 1,
        scopes: ['activity'],
        grantedAt: '2026-11-21T00:00:00Z',
      }).success,
    ).toBe(true);
    expect(consentSnapshotSchema.safeParse({ status: 'granted', policyVersion: 1 }).success).toBe(
      false,
    );
  });

  it('discriminate real-time frames on kind', () => {
    const hello = {
      kind: 'hello',
      deviceId: 'dev_1',
      ts: 1,
      nonce: 'n'.repeat(22),
      sig: 's'.repeat(86),
    };
    expect(realtimeFrameSchema.safeParse(hello).success).toBe(true);
    expect(realtimeFrameSchema.safeParse({ ...hello, kind: 'helo' }).success).toBe(false);
  });

  it('carry a message body as exactly one of sealed (device) or box (server)', () => {
    const message = {
      kind: 'message',
      id: '0190a0b4-8a8a-7b5e-9c1d-3f2e1d0c9b8a',
      channel: 'c',
      type: 't',
      ts: 1,
    };
    const parse = (extra: object) =>
      realtimeFrameSchema.safeParse({ ...message, ...extra }).success;
    expect(parse({ sealed: 'AAAA' })).toBe(true);
    expect(parse({ box: 'AAAA' })).toBe(true);
    expect(parse({ sealed: 'AAAA', box: 'AAAA' })).toBe(false);
    expect(parse({})).toBe(false);
    // Commands come from the server only, so they are always boxed.
    const command = { kind: 'command', id: 'cmd_1' };
    expect(realtimeFrameSchema.safeParse({ ...command, box: 'AAAA' }).success).toBe(true);
    expect(realtimeFrameSchema.safeParse({ ...command, sealed: 'AAAA' }).success).toBe(false);
    // A resume names a fresh nonce, like a hello, to bind the connection's session, and is
    // signed: the token alone is not enough.
    const resume = { kind: 'resume', deviceId: 'dev_1', sessionToken: 't'.repeat(43) };
    expect(realtimeFrameSchema.safeParse(resume).success).toBe(false);
    expect(realtimeFrameSchema.safeParse({ ...resume, nonce: 'n'.repeat(22) }).success).toBe(false);
    expect(
      realtimeFrameSchema.safeParse({ ...resume, nonce: 'n'.repeat(22), sig: 's'.repeat(86) })
        .success,
    ).toBe(true);
  });

  it('build error bodies that parse, with a status for every documented code', () => {
    const body = errorBody('rate_limited', 'Slow down.', { retryAfterMs: 2000 });
    expect(errorBodySchema.parse(body)).toEqual(body);
    for (const status of Object.values(HTTP_ERROR_STATUS)) {
      expect(status >= 400 && status < 600).toBe(true);
    }
  });

  it('keep every route under /v1 except the operational endpoints', () => {
    for (const [name, path] of Object.entries(ROUTES)) {
      const operational = ['health', 'ready', 'metrics'].includes(name);
      expect(path.startsWith('/v1/')).toBe(!operational);
    }
  });
});

describe('drop counts', () => {
  it('accept any subset of the reasons and refuse unknown reasons', () => {
    expect(dropCountsSchema.safeParse({ overflow: 3 }).success).toBe(true);
    expect(dropCountsSchema.safeParse({}).success).toBe(true);
    expect(dropCountsSchema.safeParse({ lost: 1 }).success).toBe(false);
    expect(dropCountsSchema.safeParse({ overflow: -1 }).success).toBe(false);
  });
});

describe('JSON Schema', () => {
  it('covers every protocol schema', () => {
    const document = protocolJsonSchema() as { $defs: Record<string, unknown> };
    expect(Object.keys(document.$defs).sort()).toEqual(Object.keys(protocolSchemas).sort());
  });

  it('is committed in docs/schema/protocol.json and up to date (run `npm run docs:schema`)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../../../docs/schema/protocol.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(protocolJsonSchema());
  });
});

describe('docs/protocol.md', () => {
  const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');

  it('documents every route', () => {
    const missing = Object.values(ROUTES).filter((path) => !doc.includes(path));
    expect(missing).toEqual([]);
  });

  it('documents every error code with its status', () => {
    const missing = Object.entries(HTTP_ERROR_STATUS).filter(
      ([code, status]) => !new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`).test(doc),
    );
    expect(missing).toEqual([]);
  });
});
