// The first run: a one-time setup token, issued only while no account exists, makes the
// first owner and logs them in; it works once, expires after 24 h, and is stored hashed.
import { createFakeClock } from '@fieldline/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueSetupToken } from '../../src/accounts/setup-tokens.js';
import { hashSecretToken } from '../../src/auth/secret-tokens.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, startTestServer, type TestServer } from '../support/test-server.js';
import { asPerson, cookiePair, type LoggedIn } from './account-fixtures.js';

const HOUR = 3600 * 1000;
const clock = createFakeClock({ nowMs: Date.parse('2026-03-02T09:00:00Z') });
const OWNER = { email: 'Founder@Example.org', password: 'the very first passphrase' };

describeEachDatabase('first-run setup', (current) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(current().db, { clock });
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  const setup = (token: string, body = OWNER) =>
    call(`${server.url}/v1/auth/setup`, { body: { token, ...body } });

  it('refuses an expired token and an unknown one', async () => {
    const early = await issueSetupToken(current().db, { clock });
    expect(early?.expiresAt).toBe(new Date(clock.now() + 24 * HOUR).toISOString());
    clock.advance(24 * HOUR);
    const expired = await setup(early?.token ?? '');
    expect([expired.status, expired.body.error.code]).toEqual([401, 'invalid_token']);
    const unknown = await setup('fl_setup_not_a_real_token_at_all');
    expect([unknown.status, unknown.body.error.code]).toEqual([401, 'invalid_token']);
    const stored = await current().db.selectFrom('setup_tokens').select('token_hash').execute();
    expect(stored.map((row) => row.token_hash)).not.toContain(early?.token);
  });

  it('makes the first owner once, logs them in, and audits it as them', async () => {
    const issued = await issueSetupToken(current().db, { clock });
    const token = issued?.token ?? '';
    expect(token).toMatch(/^fl_setup_/);
    const short = await setup(token, { ...OWNER, password: 'short' });
    expect([short.status, short.body.error.code]).toEqual([400, 'invalid_request']);

    const done = await setup(token);
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({
      user: { email: 'founder@example.org', roles: [{ role: 'owner' }] },
      tenant: null,
      role: 'owner',
    });
    const person: LoggedIn = {
      cookie: cookiePair(done.headers.get('set-cookie')),
      csrf: done.body.csrfToken,
      setCookie: done.headers.get('set-cookie') ?? '',
      body: done.body,
    };
    expect((await asPerson(`${server.url}/v1/admin/devices`, person)).status).toBe(200);

    const again = await setup(token, { ...OWNER, email: 'second@example.org' });
    expect([again.status, again.body.error.code]).toEqual([401, 'invalid_token']);
    // Once an account exists no token is issued, and an older unused one no longer works.
    expect(await issueSetupToken(current().db, { clock })).toBeUndefined();

    const rows = await current()
      .db.selectFrom('audit_log')
      .select(['actor', 'action', 'details'])
      .where('action', 'in', ['user.created', 'auth.setup_completed'])
      .orderBy('seq')
      .execute();
    expect(rows.map((row) => [row.actor, row.action])).toEqual([
      ['user:founder@example.org', 'user.created'],
      ['user:founder@example.org', 'auth.setup_completed'],
    ]);
    expect(rows[0]?.details).toMatchObject({ via: 'setup', roles: [{ role: 'owner' }] });
  });

  it('refuses a still-valid token once an account exists', async () => {
    await current().db.deleteFrom('setup_tokens').execute();
    // Issued behind the API's back, as a second instance starting at the same time might.
    await current()
      .db.insertInto('setup_tokens')
      .values({
        id: 'stk_race',
        token_hash: hashSecretToken('fl_setup_raced_token_0123456789'),
        created_at: new Date(clock.now()),
        expires_at: new Date(clock.now() + HOUR),
      })
      .execute();
    const late = await setup('fl_setup_raced_token_0123456789', {
      ...OWNER,
      email: 'late@example.org',
    });
    expect([late.status, late.body.error.code]).toEqual([409, 'conflict']);
    const owners = await current().db.selectFrom('users').select('email').execute();
    expect(owners.map((row) => row.email)).toEqual(['founder@example.org']);
  });
});
