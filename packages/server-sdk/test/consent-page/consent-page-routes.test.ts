// The employee's consent page API over real HTTP on 127.0.0.1, on PGlite and PostgreSQL: a
// device-signed link exchanged once for a cookie scoped to that device, CSRF on every change,
// changes through the consent service with signed receipts carrying the policy's own words,
// activity summaries of that device only, and hostile input answered with 4xx JSON.
import {
  CONSENT_PAGE_COOKIE,
  CSRF_HEADER,
  consentLinkSigningBytes,
  consentPageActivityResponseSchema,
  consentPageChangeResponseSchema,
  consentPageReceiptsResponseSchema,
  consentPageResponseSchema,
  createConsentLinkToken,
  encodeBase64Url,
  generateIdentity,
  type Identity,
  policyTextSha256,
  publicKeysOf,
  sign,
} from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { hashSecretToken } from '../../src/auth/secret-tokens.js';
import { verifyConsentReceipt } from '../../src/consent/consent-receipt.js';
import { toFetchHandler } from '../../src/http/fetch-adapter.js';
import { insertAggregates } from '../support/report-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, OPERATOR_TOKEN, startTestServer, type TestServer } from '../support/test-server.js';

const T0 = Date.parse('2026-06-01T09:00:00.000Z');
const POLICY_TEXT = 'We record which applications you use and for how long; never their content.';
const PURPOSES = {
  activity: {
    purpose: 'Show how working time is spread over applications',
    collects: 'Application names, focus and idle time',
    retentionDays: 90,
  },
  network: { purpose: 'Spot unusual network volume', collects: 'Bytes in and out per day' },
};

describeEachDatabase('consent page API', (current) => {
  const clock = createFakeClock({ nowMs: T0 });
  let server: TestServer;
  const devices: Record<string, Identity> = {};

  /** Mints a link for `deviceId`, signed with `signer` (its own key unless told otherwise). */
  const link = (
    deviceId: string,
    options: { signer?: Identity; tenant?: string; nowMs?: number; ttlMs?: number } = {},
  ) =>
    createConsentLinkToken(
      { deviceId, tenant: options.tenant ?? (deviceId.startsWith('g') ? 'globex' : 'acme') },
      options.signer ?? (devices[deviceId] as Identity),
      {
        clock: createFakeClock({ nowMs: options.nowMs ?? clock.now() }),
        ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
      },
    ).token;

  const exchange = async (token: unknown) => {
    const answer = await call(`${server.url}/v1/consent-link/session`, { body: { token } });
    const setCookie = answer.headers.get('set-cookie') ?? '';
    const cookie = setCookie.split(';')[0] ?? '';
    return { ...answer, setCookie, cookie };
  };

  /** A session for `deviceId`: its cookie and CSRF token. */
  const open = async (deviceId: string) => {
    const answer = await exchange(link(deviceId));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return { cookie: answer.cookie, csrf: answer.body.csrfToken as string };
  };

  const me = (path: string, session: { cookie: string; csrf?: string }, body?: unknown) =>
    call(`${server.url}/v1/me${path}`, {
      headers: {
        cookie: session.cookie,
        ...(session.csrf === undefined ? {} : { [CSRF_HEADER]: session.csrf }),
      },
      ...(body === undefined ? {} : { body }),
    });

  const consentOf = async (deviceId: string) =>
    (await call(`${server.url}/v1/admin/devices/${deviceId}/consent`, { token: OPERATOR_TOKEN }))
      .body.consent;

  beforeAll(async () => {
    const { db } = current();
    server = await startTestServer(db, { clock });
    for (const [tenant, ids] of [
      ['acme', ['a1', 'a2', 'a3']],
      ['globex', ['g1']],
    ] as const) {
      await db.insertInto('tenants').values({ id: tenant }).execute();
      for (const id of ids) {
        devices[id] = await generateIdentity();
        const keys = publicKeysOf(devices[id] as Identity);
        await db
          .insertInto('devices')
          .values({
            id,
            tenant_id: tenant,
            hostname: `${id}.example`,
            os: 'linux',
            arch: 'x64',
            signing_public_key: keys.signingPublicKey,
            encryption_public_key: keys.encryptionPublicKey,
            drops: '{}',
          })
          .execute();
      }
    }
    const published = await call(`${server.url}/v1/admin/policies`, {
      token: OPERATOR_TOKEN,
      body: {
        tenant: 'acme',
        version: 1,
        scopes: ['activity', 'network'],
        text: POLICY_TEXT,
        summary: 'App time (90 days) and network volume.',
        purposes: PURPOSES,
      },
    });
    expect(published.status).toBe(201);
    expect(published.body.textSha256).toBe(policyTextSha256(POLICY_TEXT));
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(() => {
    clock.set(T0);
  });

  it('exchanges a device-signed link once for an HttpOnly, SameSite=Strict cookie on /v1/me', async () => {
    const token = link('a2');
    const answer = await exchange(token);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      deviceId: 'a2',
      tenant: 'acme',
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: new Date(T0 + 30 * 60_000).toISOString(),
    });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const attributes = answer.setCookie.split('; ');
    expect(attributes[0]).toMatch(new RegExp(`^${CONSENT_PAGE_COOKIE}=[A-Za-z0-9_-]{43}$`));
    expect(attributes.slice(1).sort()).toEqual(
      ['HttpOnly', 'Max-Age=1800', 'Path=/v1/me', 'SameSite=Strict'].sort(),
    );
    // Only the token's hash is stored.
    const sessionToken = answer.cookie.split('=')[1] as string;
    const stored = await current()
      .db.selectFrom('consent_page_sessions')
      .selectAll()
      .where('device_id', '=', 'a2')
      .execute();
    expect(stored.map((row) => row.token_hash)).toContain(hashSecretToken(sessionToken));
    expect(JSON.stringify(stored)).not.toContain(sessionToken);

    const again = await exchange(token);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('link_used');
    expect(again.setCookie).toBe('');
  });

  it('refuses expired links, links from the future, another key, another tenant, unknown devices', async () => {
    const expired = link('a2');
    clock.advance(10 * 60_000 + 60_001);
    expect((await exchange(expired)).body.error.code).toBe('link_expired');
    // Within the minute of skew, a link that just expired still opens.
    clock.set(T0 + 10 * 60_000 + 30_000);
    expect((await exchange(link('a2', { nowMs: T0 }))).status).toBe(200);
    clock.set(T0);

    const cases: Array<[string, string]> = [
      [link('a2', { nowMs: T0 + 2 * 60_000 }), 'invalid_link'],
      [link('a2', { signer: devices.a1 }), 'invalid_link'],
      [link('a2', { tenant: 'globex' }), 'invalid_link'],
      [link('nope', { signer: devices.a2, tenant: 'acme' }), 'invalid_link'],
    ];
    for (const [token, code] of cases) {
      const answer = await exchange(token);
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe(code);
      expect(answer.setCookie).toBe('');
    }
    // Signed by the right key but for more than an hour: refused as the server reads it.
    const claims = {
      v: 1,
      deviceId: 'a2',
      iat: T0,
      exp: T0 + 2 * 3600_000,
      nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    };
    const payload = new TextEncoder().encode(JSON.stringify(claims));
    const signature = sign(consentLinkSigningBytes(payload), devices.a2 as Identity);
    const greedy = await exchange(`${encodeBase64Url(payload)}.${encodeBase64Url(signature)}`);
    expect(greedy.status).toBe(401);
    expect(greedy.body.error.code).toBe('invalid_link');
  });

  it('answers hostile input with 4xx JSON, never a 500', async () => {
    const url = `${server.url}/v1/consent-link/session`;
    const attempts: Array<[Parameters<typeof call>[1], number, string]> = [
      [{ body: 'not json' }, 400, 'invalid_json'],
      [{ body: { token: 5 } }, 400, 'invalid_request'],
      [{ body: { token: link('a2'), admin: true } }, 400, 'invalid_request'],
      [{ body: { token: 'x'.repeat(5000) } }, 400, 'invalid_request'],
      [{ body: { token: 'abc.def' } }, 401, 'invalid_link'],
      [{ body: { token: `${'\u0000'}.x` } }, 400, 'invalid_request'],
      [{ body: { token: `${'\uffff'}.x` } }, 401, 'invalid_link'],
      [
        {
          body: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
        },
        400,
        'invalid_json',
      ],
      [
        { body: JSON.stringify({ token: link('a2') }), headers: { 'content-type': 'text/plain' } },
        415,
        'unsupported_media_type',
      ],
    ];
    for (const [init, status, code] of attempts) {
      const answer = await call(url, init);
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
      expect(answer.body.error.code).toBe(code);
    }
    const session = await open('a2');
    const meAttempts: Array<[string, unknown, number, string]> = [
      [
        '/consent',
        { scope: 'Activity!', action: 'grant', policyVersion: 1 },
        400,
        'invalid_request',
      ],
      [
        '/consent',
        { scope: 'activity', action: 'delete', policyVersion: 1 },
        400,
        'invalid_request',
      ],
      [
        '/consent',
        { scope: 'activity', action: 'grant', policyVersion: -1 },
        400,
        'invalid_request',
      ],
      ['/consent', { scope: 'files', action: 'grant', policyVersion: 1 }, 400, 'invalid_request'],
      ['/consent', { scope: 'activity', action: 'grant', policyVersion: 9 }, 409, 'conflict'],
      ['/activity?from=2026-06-02&to=2026-06-01', undefined, 400, 'invalid_request'],
      ['/activity?from=2025-01-01&to=2026-06-01', undefined, 400, 'invalid_request'],
      ['/activity?from=2026-06-01&to=2026-06-02&device=a1', undefined, 400, 'invalid_request'],
      ['/activity?from=yesterday&to=2026-06-01', undefined, 400, 'invalid_request'],
      ['/activity', undefined, 400, 'invalid_request'],
    ];
    for (const [path, body, status, code] of meAttempts) {
      const answer = await me(path, session, body);
      expect(answer.status, `${path} ${JSON.stringify(answer.body)}`).toBe(status);
      expect(answer.body.error.code).toBe(code);
    }
    expect(server.errors).toEqual([]);
  });

  it('refuses every altered or made-up token, and every made-up cookie, with a documented 4xx', async () => {
    const valid = link('a2');
    const altered = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...'AQgw-_.x0'))
      .map(([at, char]) => `${valid.slice(0, at)}${char}${valid.slice(at + 1)}`)
      .filter((token) => token !== valid);
    const madeUp = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.tuple(fc.base64String(), fc.base64String()).map(([a, b]) => `${a}.${b}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(altered, madeUp), async (token) => {
        const answer = await exchange(token);
        expect([400, 401]).toContain(answer.status);
        expect(['invalid_link', 'invalid_request', 'link_expired']).toContain(
          answer.body.error.code,
        );
        expect(answer.setCookie).toBe('');
      }),
      { numRuns: 120 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), async (value) => {
        const cookie = `${CONSENT_PAGE_COOKIE}=${value}`;
        if (!/^[\t\x20-\x7e]*$/.test(cookie)) return;
        const answer = await me('', { cookie });
        expect(answer.status).toBe(401);
        expect(answer.body.error.code).toBe('unauthenticated');
      }),
      { numRuns: 80 },
    );
    // The untouched token still opens: nothing above spent its nonce.
    expect((await exchange(valid)).status).toBe(200);
  });

  it('needs the cookie on every /v1/me route and ends the session after 30 minutes', async () => {
    for (const cookie of [
      '',
      `${CONSENT_PAGE_COOKIE}=nonsense`,
      `${CONSENT_PAGE_COOKIE}=${'A'.repeat(43)}`,
    ]) {
      for (const path of ['', '/receipts', '/activity?from=2026-06-01&to=2026-06-01']) {
        const answer = await me(path, { cookie });
        expect(answer.status).toBe(401);
        expect(answer.body.error.code).toBe('unauthenticated');
      }
    }
    const session = await open('a2');
    expect((await me('', session)).status).toBe(200);
    clock.advance(30 * 60_000);
    const ended = await me('', session);
    expect(ended.status).toBe(401);
    expect(ended.body.error.code).toBe('unauthenticated');
  });

  it('shows the device, the policy in its own words and each scope, and the CSRF token', async () => {
    const exchanged = await exchange(link('a2'));
    const answer = await me('', { cookie: exchanged.cookie });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const view = consentPageResponseSchema.parse(answer.body);
    expect(view).toEqual({
      device: { id: 'a2', name: 'a2.example', tenant: 'acme' },
      policy: {
        version: 1,
        publishedAt: new Date(T0).toISOString(),
        text: POLICY_TEXT,
        textSha256: policyTextSha256(POLICY_TEXT),
        summary: 'App time (90 days) and network volume.',
        scopes: [
          { scope: 'activity', ...PURPOSES.activity },
          { scope: 'network', ...PURPOSES.network },
        ],
      },
      consent: { status: 'pending', policyVersion: 1 },
      scopes: [
        { scope: 'activity', status: 'pending' },
        { scope: 'network', status: 'pending' },
      ],
      csrfToken: exchanged.body.csrfToken,
      sessionExpiresAt: new Date(T0 + 30 * 60_000).toISOString(),
    });
  });

  it('grants and withdraws one scope at a time with CSRF, audited, each with a signed receipt', async () => {
    const { db } = current();
    const session = await open('a1');
    // `null`: no CSRF header at all.
    const change = (body: unknown, csrf: string | null = session.csrf) =>
      me('/consent', { cookie: session.cookie, ...(csrf === null ? {} : { csrf }) }, body);
    const grantActivity = { scope: 'activity', action: 'grant', policyVersion: 1 };

    const missing = await change(grantActivity, null);
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe('csrf_failed');
    const other = await open('a2');
    const wrong = await change(grantActivity, other.csrf);
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('csrf_failed');
    expect(await consentOf('a1')).toEqual({ status: 'pending', policyVersion: 1 });

    clock.advance(1_000);
    const granted = await change(grantActivity);
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    const first = consentPageChangeResponseSchema.parse(granted.body);
    expect(first.consent).toMatchObject({ status: 'granted', scopes: ['activity'] });
    const serverKey = publicKeysOf(server.serverIdentity).signingPublicKey;
    expect(verifyConsentReceipt(first.receipt, serverKey)).toBe(true);
    expect(first.receipt.record).toMatchObject({
      subject: { deviceId: 'a1' },
      state: 'granted',
      method: 'agent-ui',
      policy: { version: 1, textSha256: policyTextSha256(POLICY_TEXT) },
      purposes: [{ scope: 'activity', legalBasis: 'consent', ...PURPOSES.activity }],
    });
    // A changed word breaks the signature: the receipt proves these purposes.
    const tampered = {
      ...first.receipt,
      record: {
        ...first.receipt.record,
        purposes: [{ ...first.receipt.record.purposes[0], retentionDays: 9000 }],
      },
    };
    expect(verifyConsentReceipt(tampered, serverKey)).toBe(false);

    clock.advance(1_000);
    const both = await change({ scope: 'network', action: 'grant', policyVersion: 1 });
    expect(both.body.consent).toMatchObject({ status: 'granted', scopes: ['activity', 'network'] });
    clock.advance(1_000);
    const withdrawn = await change({ scope: 'activity', action: 'withdraw', policyVersion: 1 });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.consent).toMatchObject({ status: 'granted', scopes: ['network'] });
    expect(withdrawn.body.receipt.record).toMatchObject({
      state: 'withdrawn',
      purposes: [{ scope: 'activity' }],
    });
    expect((await me('', session)).body.scopes).toEqual([
      { scope: 'activity', status: 'not_granted' },
      { scope: 'network', status: 'granted' },
    ]);
    // The other device of the session next door is untouched.
    expect(await consentOf('a2')).toEqual({ status: 'pending', policyVersion: 1 });

    const audit = await db
      .selectFrom('audit_log')
      .select(['actor', 'action', 'subject'])
      .where('action', 'in', ['consent.granted', 'consent.withdrawn'])
      .where('subject', '=', 'device:a1')
      .orderBy('seq')
      .execute();
    expect(audit).toEqual([
      { actor: 'device-user:a1', action: 'consent.granted', subject: 'device:a1' },
      { actor: 'device-user:a1', action: 'consent.granted', subject: 'device:a1' },
      { actor: 'device-user:a1', action: 'consent.withdrawn', subject: 'device:a1' },
    ]);
    // Every change is pushed to the device like an admin's: one command each, after the
    // publication's own.
    const commands = await db
      .selectFrom('commands')
      .select('type')
      .where('device_id', '=', 'a1')
      .orderBy('created_at')
      .execute();
    expect(commands.map((c) => c.type)).toEqual([
      'consent.updated',
      'consent.updated',
      'consent.updated',
      'consent.withdrawn',
    ]);

    const receipts = await me('/receipts', session);
    const listed = consentPageReceiptsResponseSchema.parse(receipts.body);
    expect(listed.serverSigningPublicKey).toBe(serverKey);
    expect(listed.receipts.map((r) => r.record.state)).toEqual([
      'withdrawn',
      'granted',
      'granted',
      'pending',
    ]);
    for (const receipt of listed.receipts) {
      expect(receipt.record.subject.deviceId).toBe('a1');
      expect(verifyConsentReceipt(receipt, serverKey)).toBe(true);
    }
    expect(listed.receipts[0]).toEqual(withdrawn.body.receipt);
  });

  it('shows summaries of this device only, never another device or raw events', async () => {
    const { db } = current();
    const figures = { activeMs: 60_000, idleMs: 5_000, launches: 2, bytesIn: 10, bytesOut: 20 };
    await insertAggregates(db, [
      { tenant: 'acme', device: 'a3', day: '2026-05-30', app: 'editor', ...figures },
      { tenant: 'acme', device: 'a3', day: '2026-05-31', app: 'browser', ...figures },
      { tenant: 'acme', device: 'a3', day: '2026-05-31', app: 'editor', ...figures, launches: 5 },
      { tenant: 'acme', device: 'a2', day: '2026-05-31', app: 'secret-app', ...figures },
      { tenant: 'globex', device: 'g1', day: '2026-05-31', app: 'other-tenant', ...figures },
    ]);
    const session = await open('a3');
    const answer = await me('/activity?from=2026-05-31&to=2026-06-01', session);
    expect(answer.status).toBe(200);
    expect(consentPageActivityResponseSchema.parse(answer.body)).toEqual({
      from: '2026-05-31',
      to: '2026-06-01',
      rows: [
        { day: '2026-05-31', app: 'browser', ...figures },
        { day: '2026-05-31', app: 'editor', ...figures, launches: 5 },
      ],
    });
  });

  it('closes the page of a revoked device at once, and refuses its new links', async () => {
    const { db } = current();
    const session = await open('g1');
    expect((await me('', session)).body.policy).toBeNull();
    const pending = link('g1');
    await db.updateTable('devices').set({ status: 'revoked' }).where('id', '=', 'g1').execute();
    const closed = await me('', session);
    expect(closed.status).toBe(401);
    expect(closed.body.error.code).toBe('device_revoked');
    const refused = await exchange(pending);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('device_revoked');
  });

  it('marks the cookie Secure over TLS', async () => {
    const handler = toFetchHandler(server.app);
    const response = await handler(
      new Request('https://fieldline.example/v1/consent-link/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: link('a2') }),
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')?.split('; ')).toContain('Secure');
  });
});
