// What each role may do through a session cookie, over real HTTP: the CSRF token and Origin
// on mutating requests, an auditor reading but never changing, a tenant admin confined to
// their tenant, an owner everywhere, account management per role, and the audit log naming
// the person.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertDevice } from '../support/report-fixtures.js';
import { openSse } from '../support/sse-client.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';
import { asPerson, createAccount, type LoggedIn, login } from './account-fixtures.js';

const REPORT = '/v1/reports/activity?tenant=acme&from=2026-01-01&to=2026-01-31';

describeEachDatabase('roles, CSRF and audit through sessions', (current) => {
  let server: TestServer;
  let owner: LoggedIn;
  let acmeAdmin: LoggedIn;
  let auditor: LoggedIn;
  beforeAll(async () => {
    server = await startTestServer(current().db);
    await insertDevice(current().db, 'acme', 'dev_acme_1');
    await insertDevice(current().db, 'globex', 'dev_globex_1');
    await createAccount(server.url, 'owner@example.org', [{ role: 'owner' }]);
    await createAccount(server.url, 'admin@acme.example', [
      { role: 'tenant_admin', tenant: 'acme' },
    ]);
    await createAccount(server.url, 'audit@acme.example', [{ role: 'auditor', tenant: 'acme' }]);
    owner = await login(server.url, 'owner@example.org');
    acmeAdmin = await login(server.url, 'admin@acme.example');
    auditor = await login(server.url, 'audit@acme.example');
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  const commandsOf = (device: string) => `${server.url}/v1/admin/devices/${device}/commands`;

  it('a cookie request that changes something needs the CSRF token and a same-site Origin', async () => {
    const missing = await asPerson(commandsOf('dev_acme_1'), acmeAdmin, {
      body: { type: 'ping' },
      csrf: false,
    });
    expect([missing.status, missing.body.error.code]).toEqual([403, 'csrf_failed']);
    const wrong = await asPerson(commandsOf('dev_acme_1'), acmeAdmin, {
      body: { type: 'ping' },
      csrf: owner.csrf,
    });
    expect([wrong.status, wrong.body.error.code]).toEqual([403, 'csrf_failed']);
    const crossSite = await asPerson(commandsOf('dev_acme_1'), acmeAdmin, {
      body: { type: 'ping' },
      headers: { origin: 'https://evil.example' },
    });
    expect([crossSite.status, crossSite.body.error.code]).toEqual([403, 'csrf_failed']);
    const sameSite = await asPerson(commandsOf('dev_acme_1'), acmeAdmin, {
      body: { type: 'ping' },
      headers: { origin: server.url },
    });
    expect(sameSite.status).toBe(201);
    // Reads need no token.
    expect(
      (await asPerson(`${server.url}/v1/admin/devices`, acmeAdmin, { csrf: false })).status,
    ).toBe(200);
    // A bearer token needs none either, and wins over a cookie sent beside it.
    const bearer = await call(commandsOf('dev_acme_1'), {
      token: ACME_ADMIN_TOKEN,
      headers: { cookie: auditor.cookie },
      body: { type: 'ping' },
    });
    expect(bearer.status).toBe(201);
  });

  it('audits a session’s admin changes with the person as actor', async () => {
    const created = await asPerson(commandsOf('dev_acme_1'), acmeAdmin, { body: { type: 'ping' } });
    expect(created.status).toBe(201);
    const row = await current()
      .db.selectFrom('audit_log')
      .select(['actor', 'tenant_id'])
      .where('action', '=', 'command.created')
      .where(sql<string>`details->>'commandId'`, '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ actor: 'user:admin@acme.example', tenant_id: 'acme' });
  });

  it('an auditor reads devices, reports and the audit log, and is refused every change', async () => {
    const devices = await asPerson(`${server.url}/v1/admin/devices`, auditor);
    expect(devices.status).toBe(200);
    expect(devices.body.devices.map((d: { id: string }) => d.id)).toEqual(['dev_acme_1']);
    expect((await asPerson(`${server.url}${REPORT}`, auditor)).status).toBe(200);
    expect((await asPerson(`${server.url}/v1/admin/audit`, auditor)).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/v1/admin/devices/dev_acme_1/commands', { type: 'ping' }],
      ['POST', '/v1/admin/install-tokens', { tenant: 'acme' }],
      ['POST', '/v1/admin/devices/dev_acme_1/revoke', {}],
      ['PUT', '/v1/admin/config', { tenant: 'acme', config: {} }],
    ] as const) {
      const refused = await asPerson(`${server.url}${path}`, auditor, { method, body });
      expect([refused.status, refused.body.error.code], path).toEqual([403, 'forbidden']);
      expect(refused.body.error.message).toMatch(/auditor may only read/);
    }
    const users = await asPerson(`${server.url}/v1/users`, auditor);
    expect([users.status, users.body.error.code]).toEqual([403, 'forbidden']);
    const standing = await current()
      .db.selectFrom('devices')
      .select('status')
      .where('id', '=', 'dev_acme_1')
      .executeTakeFirstOrThrow();
    expect(standing.status).toBe('active');
  });

  it('the admin event stream takes a session cookie, an auditor’s included', async () => {
    const stream = await openSse(`${server.url}/v1/admin/stream`, undefined, {
      cookie: auditor.cookie,
    });
    try {
      expect(stream.status).toBe(200);
      await stream.waitFor(/: connected/);
    } finally {
      stream.close();
    }
    const refused = await openSse(`${server.url}/v1/admin/stream`, undefined, {
      cookie: 'fieldline_session=fl_session_not_a_session_at_all',
    });
    expect(refused.status).toBe(401);
    refused.close();
  });

  it('a tenant admin sees and changes only their tenant; an owner sees every tenant', async () => {
    const acme = await asPerson(`${server.url}/v1/admin/devices`, acmeAdmin);
    expect(acme.body.devices.map((d: { id: string }) => d.id)).toEqual(['dev_acme_1']);
    const other = await asPerson(`${server.url}/v1/admin/devices/dev_globex_1`, acmeAdmin);
    expect([other.status, other.body.error.code]).toEqual([404, 'not_found']);
    const command = await asPerson(commandsOf('dev_globex_1'), acmeAdmin, {
      body: { type: 'ping' },
    });
    expect(command.status).toBe(404);
    const report = await asPerson(
      `${server.url}/v1/reports/activity?tenant=globex&from=2026-01-01&to=2026-01-31`,
      acmeAdmin,
    );
    expect(report.status).toBe(403);
    const verify = await asPerson(`${server.url}/v1/admin/audit/verify`, acmeAdmin);
    expect(verify.status).toBe(403);

    const all = await asPerson(`${server.url}/v1/admin/devices`, owner);
    expect(all.body.devices.map((d: { id: string }) => d.id).sort()).toEqual([
      'dev_acme_1',
      'dev_globex_1',
    ]);
    expect((await asPerson(`${server.url}/v1/admin/devices/dev_globex_1`, owner)).status).toBe(200);
    expect(
      (await asPerson(commandsOf('dev_globex_1'), owner, { body: { type: 'ping' } })).status,
    ).toBe(201);
    const verified = await asPerson(`${server.url}/v1/admin/audit/verify`, owner);
    expect([verified.status, verified.body.ok]).toEqual([200, true]);
  });

  it('a tenant admin manages accounts in their tenant only; changes are audited as them', async () => {
    const created = await asPerson(`${server.url}/v1/users`, acmeAdmin, {
      body: {
        email: 'new@acme.example',
        password: 'a fine long passphrase',
        roles: [{ role: 'auditor', tenant: 'acme' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      email: 'new@acme.example',
      roles: [{ role: 'auditor', tenant: 'acme' }],
    });
    expect(created.body).not.toHaveProperty('passwordHash');
    for (const roles of [[{ role: 'owner' }], [{ role: 'auditor', tenant: 'globex' }]]) {
      const refused = await asPerson(`${server.url}/v1/users`, acmeAdmin, {
        body: { email: 'x@acme.example', password: 'a fine long passphrase', roles },
      });
      expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
    }
    const taken = await asPerson(`${server.url}/v1/users`, acmeAdmin, {
      body: {
        email: 'NEW@acme.example',
        password: 'a fine long passphrase',
        roles: [{ role: 'auditor', tenant: 'acme' }],
      },
    });
    expect([taken.status, taken.body.error.code]).toEqual([409, 'conflict']);

    const globexOnly = await createAccount(server.url, 'ops@globex.example', [
      { role: 'tenant_admin', tenant: 'globex' },
    ]);
    const listed = await asPerson(`${server.url}/v1/users`, acmeAdmin);
    expect(listed.body.users.map((u: { email: string }) => u.email)).toEqual([
      'admin@acme.example',
      'audit@acme.example',
      'new@acme.example',
    ]);
    expect((await asPerson(`${server.url}/v1/users/${globexOnly}`, acmeAdmin)).status).toBe(404);
    const everyone = await asPerson(`${server.url}/v1/users`, owner);
    expect(everyone.body.users.length).toBe(5);

    const audited = await current()
      .db.selectFrom('audit_log')
      .select(['actor', 'tenant_id', 'details'])
      .where('action', '=', 'user.created')
      .where('subject', '=', `user:${created.body.id}`)
      .executeTakeFirstOrThrow();
    expect(audited).toMatchObject({
      actor: 'user:admin@acme.example',
      tenant_id: 'acme',
      details: { email: 'new@acme.example', roles: [{ role: 'auditor', tenant: 'acme' }] },
    });
    expect(JSON.stringify(audited.details)).not.toMatch(/scrypt|passphrase/);
  });

  it('a role change applies at once: the changed person’s sessions end', async () => {
    const id = await createAccount(server.url, 'promote@acme.example', [
      { role: 'auditor', tenant: 'acme' },
    ]);
    const person = await login(server.url, 'promote@acme.example');
    const changed = await asPerson(`${server.url}/v1/users/${id}`, acmeAdmin, {
      method: 'PATCH',
      body: { roles: [{ role: 'tenant_admin', tenant: 'acme' }] },
    });
    expect([changed.status, changed.body.roles]).toEqual([
      200,
      [{ role: 'tenant_admin', tenant: 'acme' }],
    ]);
    expect((await asPerson(`${server.url}/v1/auth/session`, person)).status).toBe(401);
    const again = await login(server.url, 'promote@acme.example');
    expect(again.body.role).toBe('tenant_admin');
    const row = await current()
      .db.selectFrom('audit_log')
      .select(['actor', 'details'])
      .where('action', '=', 'user.roles_changed')
      .where('subject', '=', `user:${id}`)
      .executeTakeFirstOrThrow();
    expect(row.actor).toBe('user:admin@acme.example');
    expect(row.details).toMatchObject({
      before: [{ role: 'auditor', tenant: 'acme' }],
      after: [{ role: 'tenant_admin', tenant: 'acme' }],
    });
  });

  it('a person in two tenants acts in one at a time, and a tenant admin removes only their part', async () => {
    const id = await createAccount(server.url, 'both@example.org', [
      { role: 'auditor', tenant: 'acme' },
      { role: 'tenant_admin', tenant: 'globex' },
    ]);
    const person = await login(server.url, 'both@example.org', undefined, { tenant: 'globex' });
    expect([person.body.tenant, person.body.role]).toEqual(['globex', 'tenant_admin']);
    const globexDevices = await asPerson(`${server.url}/v1/admin/devices`, person);
    expect(globexDevices.body.devices.map((d: { id: string }) => d.id)).toEqual(['dev_globex_1']);
    const switched = await asPerson(`${server.url}/v1/auth/session`, person, {
      method: 'PUT',
      body: { tenant: 'acme' },
    });
    expect([switched.status, switched.body.tenant, switched.body.role]).toEqual([
      200,
      'acme',
      'auditor',
    ]);
    const refused = await asPerson(commandsOf('dev_acme_1'), person, { body: { type: 'ping' } });
    expect(refused.status).toBe(403);
    const nowhere = await asPerson(`${server.url}/v1/auth/session`, person, {
      method: 'PUT',
      body: { tenant: 'initech' },
    });
    expect(nowhere.status).toBe(403);

    // The acme admin may neither disable nor re-password an account that is also globex's.
    const disable = await asPerson(`${server.url}/v1/users/${id}`, acmeAdmin, {
      method: 'PATCH',
      body: { disabled: true },
    });
    expect(disable.status).toBe(403);
    const removed = await asPerson(`${server.url}/v1/users/${id}`, acmeAdmin, { method: 'DELETE' });
    expect([removed.status, removed.body.deleted]).toEqual([200, false]);
    const left = await asPerson(`${server.url}/v1/users/${id}`, owner);
    expect(left.body.roles).toEqual([{ role: 'tenant_admin', tenant: 'globex' }]);
    const gone = await asPerson(`${server.url}/v1/users/${id}`, owner, { method: 'DELETE' });
    expect([gone.status, gone.body.deleted]).toEqual([200, true]);
    expect((await asPerson(`${server.url}/v1/users/${id}`, owner)).status).toBe(404);
  });

  it('never leaves no enabled owner', async () => {
    const me = (await asPerson(`${server.url}/v1/auth/session`, owner)).body.user.id as string;
    for (const body of [{ disabled: true }, { roles: [{ role: 'auditor', tenant: 'acme' }] }]) {
      const refused = await asPerson(`${server.url}/v1/users/${me}`, owner, {
        method: 'PATCH',
        body,
      });
      expect([refused.status, refused.body.error.details]).toEqual([409, { reason: 'last_owner' }]);
    }
    const deleted = await call(`${server.url}/v1/users/${me}`, {
      method: 'DELETE',
      token: OPERATOR_TOKEN,
    });
    expect(deleted.status).toBe(409);
    // Refused changes roll back whole: the owner's session still works.
    expect((await asPerson(`${server.url}/v1/auth/session`, owner)).body.role).toBe('owner');
  });
});
