// Whatever arrives at the account routes, the answer is a documented 4xx JSON error, never a
// 500: malformed and mistyped JSON, huge and deep bodies, wrong content types, junk cookies.
import { HTTP_ERROR_STATUS } from '@fieldline/core';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { wrongType } from '../support/fuzz-arbitraries.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, startTestServer, type TestServer } from '../support/test-server.js';
import { asPerson, createAccount, type LoggedIn, login } from './account-fixtures.js';

const DOCUMENTED = new Map<string, number>(Object.entries(HTTP_ERROR_STATUS));

function expectDocumented(status: number, body: { error?: { code?: string } }): void {
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  expect(DOCUMENTED.get(body.error?.code ?? '')).toBe(status);
}

describeEachDatabase('account routes under hostile input', (current) => {
  let server: TestServer;
  let person: LoggedIn;
  beforeAll(async () => {
    server = await startTestServer(current().db, {
      accounts: { loginRateLimit: { maxFailuresPerSource: 10_000, maxFailuresPerEmail: 10_000 } },
    });
    await createAccount(server.url, 'ana@example.org', [{ role: 'owner' }]);
    person = await login(server.url, 'ana@example.org');
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  const ROUTES = ['/v1/auth/login', '/v1/auth/setup', '/v1/auth/password', '/v1/users'];

  it('answers malformed JSON, non-string e-mails and wrong types with 400', async () => {
    for (const path of ROUTES) {
      const broken = await asPerson(`${server.url}${path}`, person, { body: '{"email": "a@b.c",' });
      expect([broken.status, broken.body.error.code], path).toEqual([400, 'invalid_json']);
    }
    for (const email of [42, null, ['ana@example.org'], { $ne: '' }, '', 'x'.repeat(10_000)]) {
      const response = await call(`${server.url}/v1/auth/login`, {
        body: { email, password: 'whatever it is here' },
      });
      expect([response.status, response.body.error.code]).toEqual([400, 'invalid_request']);
    }
    const huge = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'ana@example.org', password: 'p'.repeat(1025) },
    });
    expect(huge.status).toBe(400);
    const extra = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'ana@example.org', password: 'whatever it is', admin: true },
    });
    expect(extra.status).toBe(400);
    const text = await call(`${server.url}/v1/auth/login`, {
      body: 'email=ana@example.org',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([text.status, text.body.error.code]).toEqual([415, 'unsupported_media_type']);
    const deep = await call(`${server.url}/v1/auth/login`, {
      body: `${'['.repeat(100)}${']'.repeat(100)}`,
    });
    expect([deep.status, deep.body.error.details.reason]).toEqual([400, 'too_deep']);
  });

  it('refuses a body over the limit with 413 before reading it', async () => {
    const response = await call(`${server.url}/v1/auth/login`, {
      body: JSON.stringify({ email: 'ana@example.org', password: 'x'.repeat(3 * 1024 * 1024) }),
    });
    expect([response.status, response.body.error.code]).toEqual([413, 'payload_too_large']);
  });

  it('answers junk cookies and CSRF tokens with 401 or 403', async () => {
    for (const cookie of [
      'fieldline_session=',
      'fieldline_session=%00%ff',
      'fieldline_session=a; fieldline_session=b',
      `fieldline_session=${'z'.repeat(4000)}`,
      'fieldline_session=fl_session_"quoted"',
    ]) {
      const response = await call(`${server.url}/v1/admin/devices`, { headers: { cookie } });
      expect(response.status, cookie).toBe(401);
      expectDocumented(response.status, response.body);
    }
    const junkCsrf = await asPerson(`${server.url}/v1/users`, person, {
      csrf: '\u00ff'.repeat(3),
      body: { email: 'b@example.org', password: 'long enough passphrase', roles: [] },
    });
    expect(junkCsrf.status).toBe(403);
  });

  it('answers random bodies on every account route with documented 4xx (property)', async () => {
    const body = fc.oneof(
      fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
      fc.string(),
      fc
        .record(
          {
            email: fc.oneof(fc.emailAddress(), wrongType, fc.string()),
            password: fc.oneof(fc.string({ maxLength: 40 }), wrongType),
            newPassword: fc.oneof(fc.string({ maxLength: 40 }), wrongType),
            currentPassword: fc.oneof(fc.string({ maxLength: 40 }), wrongType),
            token: fc.oneof(fc.string(), wrongType),
            tenant: fc.oneof(fc.string(), wrongType),
            roles: fc.oneof(
              wrongType,
              fc.array(fc.record({ role: fc.string(), tenant: fc.string() }), { maxLength: 3 }),
            ),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), body, async (path, text) => {
        const response = await asPerson(`${server.url}${path}`, person, { body: text });
        // A random body can, rarely, be a valid login attempt with a wrong password (401).
        expectDocumented(response.status, response.body);
      }),
      { numRuns: 60 },
    );
  });
});
