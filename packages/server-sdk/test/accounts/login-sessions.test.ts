// Logging in and out over real HTTP on 127.0.0.1, with the app's clock faked so idle and
// absolute expiry and the rate limit's window can be crossed.
import { createFakeClock } from '@fieldline/core/testing';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { toFetchHandler } from '../../src/http/fetch-adapter.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, startTestServer, type TestServer } from '../support/test-server.js';
import { asPerson, cookiePair, createAccount, login, PASSWORD } from './account-fixtures.js';

const HOUR = 3600 * 1000;
const clock = createFakeClock({ nowMs: Date.parse('2026-03-02T09:00:00Z') });

describeEachDatabase('logins, sessions and their expiry', (current) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(current().db, { clock });
    await createAccount(server.url, 'Ana@Example.org', [{ role: 'tenant_admin', tenant: 'acme' }]);
    await createAccount(server.url, 'bo@example.org', [{ role: 'auditor', tenant: 'acme' }]);
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });
  // Every test starts past the rate limit's window of the ones before it.
  beforeEach(() => clock.advance(HOUR));

  async function auditRows(action: string) {
    return current()
      .db.selectFrom('audit_log')
      .select(['actor', 'action', 'subject', 'details', 'tenant_id'])
      .where('action', '=', action)
      .orderBy('seq')
      .execute();
  }

  it('logs in: an HttpOnly SameSite=Strict cookie, the user, its role and a CSRF token', async () => {
    const person = await login(server.url, 'ANA@example.org');
    expect(person.setCookie).toMatch(
      /^fieldline_session=fl_session_[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/,
    );
    expect(person.body).toMatchObject({
      user: {
        email: 'ana@example.org',
        disabled: false,
        roles: [{ role: 'tenant_admin', tenant: 'acme' }],
      },
      tenant: 'acme',
      role: 'tenant_admin',
      expiresAt: new Date(clock.now() + 7 * 24 * HOUR).toISOString(),
      idleExpiresAt: new Date(clock.now() + 12 * HOUR).toISOString(),
    });
    expect(person.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const session = await asPerson(`${server.url}/v1/auth/session`, person);
    expect(session.status).toBe(200);
    expect(session.body.user.email).toBe('ana@example.org');
    expect(session.body.csrfToken).toBe(person.csrf);
    // Only the token's hash is stored.
    const stored = await current().db.selectFrom('user_sessions').select('token_hash').execute();
    const token = person.cookie.split('=')[1] ?? '';
    expect(stored.some((row) => row.token_hash === token)).toBe(false);
    expect(stored.every((row) => /^[0-9a-f]{64}$/.test(row.token_hash))).toBe(true);

    const audited = (await auditRows('auth.login_succeeded')).at(-1);
    expect(audited).toMatchObject({ actor: 'user:ana@example.org', tenant_id: null });
    expect(audited?.details).toMatchObject({ role: 'tenant_admin', tenant: 'acme' });
  });

  it('answers a wrong password and an unknown e-mail alike, and audits both', async () => {
    const wrong = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'ana@example.org', password: 'not the password at all' },
    });
    const unknown = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'nobody@example.org', password: PASSWORD },
    });
    expect([wrong.status, wrong.body]).toEqual([unknown.status, unknown.body]);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const failures = (await auditRows('auth.login_failed')).slice(-2);
    expect(failures.map((row) => [row.actor, row.details.reason])).toEqual([
      ['user:ana@example.org', 'wrong_password'],
      ['user:nobody@example.org', 'unknown_email'],
    ]);
  });

  it('without a session cookie, the session routes answer 401', async () => {
    const none = await call(`${server.url}/v1/auth/session`);
    expect([none.status, none.body.error.code]).toEqual([401, 'unauthenticated']);
    const forged = await call(`${server.url}/v1/auth/session`, {
      headers: { cookie: 'fieldline_session=fl_session_forged_forged_forged' },
    });
    expect([forged.status, forged.body.error.code]).toEqual([401, 'unauthenticated']);
    expect(forged.headers.get('set-cookie')).toMatch(/^fieldline_session=; .*Max-Age=0/);
  });

  it('logs out: CSRF token needed, the session row is deleted, the cookie cleared', async () => {
    const person = await login(server.url, 'ana@example.org');
    const forced = await asPerson(`${server.url}/v1/auth/logout`, person, {
      method: 'POST',
      csrf: false,
    });
    expect([forced.status, forced.body.error.code]).toEqual([403, 'csrf_failed']);
    const before = await current().db.selectFrom('user_sessions').select('id').execute();
    const out = await asPerson(`${server.url}/v1/auth/logout`, person, { method: 'POST' });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toBe(
      'fieldline_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0',
    );
    const after = await current().db.selectFrom('user_sessions').select('id').execute();
    expect(after.length).toBe(before.length - 1);
    const gone = await asPerson(`${server.url}/v1/auth/session`, person);
    expect([gone.status, gone.body.error.code]).toEqual([401, 'unauthenticated']);
    // Logging out again (or with no session) is not an error.
    expect(
      (await asPerson(`${server.url}/v1/auth/logout`, person, { method: 'POST' })).status,
    ).toBe(204);
    expect((await auditRows('auth.logout')).at(-1)?.actor).toBe('user:ana@example.org');
  });

  it('ends a session idle for 12 h, and one 7 days old however busy', async () => {
    const idle = await login(server.url, 'ana@example.org');
    clock.advance(12 * HOUR - 1000);
    expect((await asPerson(`${server.url}/v1/auth/session`, idle)).status).toBe(200);
    clock.advance(12 * HOUR - 1000);
    expect((await asPerson(`${server.url}/v1/auth/session`, idle)).status).toBe(200);
    clock.advance(12 * HOUR);
    const expired = await asPerson(`${server.url}/v1/auth/session`, idle);
    expect([expired.status, expired.body.error.code]).toEqual([401, 'session_expired']);
    expect(expired.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    // Deleted, so it stays ended (and is no longer "expired" but unknown).
    const again = await asPerson(`${server.url}/v1/auth/session`, idle);
    expect(again.body.error.code).toBe('unauthenticated');

    const busy = await login(server.url, 'ana@example.org');
    for (let hours = 0; hours < 7 * 24 - 11; hours += 11) {
      clock.advance(11 * HOUR);
      expect((await asPerson(`${server.url}/v1/auth/session`, busy)).status).toBe(200);
    }
    clock.advance(11 * HOUR);
    const old = await asPerson(`${server.url}/v1/admin/devices`, busy);
    expect([old.status, old.body.error.code]).toEqual([401, 'session_expired']);
  });

  it('limits failed logins per e-mail: the 6th in 15 min is 429 even with the right password', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const failed = await call(`${server.url}/v1/auth/login`, {
        body: { email: 'bo@example.org', password: `wrong password ${attempt}` },
      });
      expect(failed.body.error.code).toBe('invalid_credentials');
      clock.advance(1000);
    }
    const limited = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'BO@example.org', password: PASSWORD },
    });
    expect([limited.status, limited.body.error.code]).toEqual([429, 'rate_limited']);
    // The first failure leaves the window 15 min after it was made, 4 s ago.
    expect(limited.headers.get('retry-after')).toBe(String(15 * 60 - 5));
    expect(limited.body.error.details).toMatchObject({ limit: 'email' });
    // Another e-mail from the same address is not locked by it.
    await login(server.url, 'ana@example.org');
    clock.advance(15 * 60 * 1000);
    const person = await login(server.url, 'bo@example.org');
    expect(person.body.role).toBe('auditor');
  });

  it('limits failed logins per client address across e-mails (20 in 15 min)', async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const failed = await call(`${server.url}/v1/auth/login`, {
        body: { email: `guess-${attempt}@example.org`, password: 'a guessed password' },
      });
      expect(failed.status).toBe(401);
    }
    const limited = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'ana@example.org', password: PASSWORD },
    });
    expect([limited.status, limited.body.error.details.limit]).toEqual([429, 'source']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    clock.advance(15 * 60 * 1000 + 1);
    await login(server.url, 'ana@example.org');
  });

  it('changes one’s own password: the current one is checked, other sessions end, this one stays', async () => {
    await createAccount(server.url, 'cy@example.org', [{ role: 'auditor', tenant: 'acme' }]);
    const here = await login(server.url, 'cy@example.org');
    const elsewhere = await login(server.url, 'cy@example.org');
    const wrong = await asPerson(`${server.url}/v1/auth/password`, here, {
      body: { currentPassword: 'not my password!', newPassword: 'a brand new passphrase' },
    });
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'invalid_credentials']);
    const short = await asPerson(`${server.url}/v1/auth/password`, here, {
      body: { currentPassword: PASSWORD, newPassword: 'too short' },
    });
    expect([short.status, short.body.error.code]).toEqual([400, 'invalid_request']);
    const noCsrf = await asPerson(`${server.url}/v1/auth/password`, here, {
      csrf: false,
      body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    });
    expect(noCsrf.body.error.code).toBe('csrf_failed');

    const changed = await asPerson(`${server.url}/v1/auth/password`, here, {
      body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    });
    expect([changed.status, changed.body]).toEqual([200, { endedSessions: 1 }]);
    expect((await asPerson(`${server.url}/v1/auth/session`, here)).status).toBe(200);
    expect((await asPerson(`${server.url}/v1/auth/session`, elsewhere)).status).toBe(401);
    const old = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'cy@example.org', password: PASSWORD },
    });
    expect(old.status).toBe(401);
    await login(server.url, 'cy@example.org', 'a brand new passphrase');
    const audited = (await auditRows('auth.password_changed')).at(-1);
    expect(audited).toMatchObject({ actor: 'user:cy@example.org', details: { endedSessions: 1 } });
  });

  it('marks the cookie Secure when the request came over TLS', async () => {
    const handle = toFetchHandler(server.app);
    const response = await handle(
      new Request('https://fieldline.example/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ana@example.org', password: PASSWORD }),
      }),
    );
    expect(response.status).toBe(200);
    const setCookie = response.headers.get('set-cookie');
    expect(setCookie).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=604800; Secure$/);
    const session = await handle(
      new Request('https://fieldline.example/v1/auth/session', {
        headers: { cookie: cookiePair(setCookie) },
      }),
    );
    expect(session.status).toBe(200);
  });

  it('refuses a disabled account with the generic answer, and ends its sessions', async () => {
    const id = await createAccount(server.url, 'di@example.org', [
      { role: 'auditor', tenant: 'acme' },
    ]);
    const person = await login(server.url, 'di@example.org');
    const disabled = await call(`${server.url}/v1/users/${id}`, {
      method: 'PATCH',
      token: 'fl_admin_operator_token_for_tests_0123456789',
      body: { disabled: true },
    });
    expect([disabled.status, disabled.body.disabled]).toEqual([200, true]);
    expect((await asPerson(`${server.url}/v1/auth/session`, person)).status).toBe(401);
    const refused = await call(`${server.url}/v1/auth/login`, {
      body: { email: 'di@example.org', password: PASSWORD },
    });
    expect([refused.status, refused.body.error.code]).toEqual([401, 'invalid_credentials']);
    expect((await auditRows('auth.login_failed')).at(-1)?.details.reason).toBe('account_disabled');
  });
});
