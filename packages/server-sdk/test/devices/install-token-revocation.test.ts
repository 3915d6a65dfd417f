// Install tokens listed and revoked over HTTP: a revoked token cannot enroll, revocation is
// audited once and idempotent, and another tenant's admin sees none of it.
import { generateIdentity, publicKeysOf } from '@fieldline/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

describeEachDatabase('install-token revocation', (current) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(current().db);
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  async function enrollWith(token: string) {
    const identity = await generateIdentity();
    return call(`${server.url}/v1/enroll`, {
      token,
      body: { hostname: 'h', os: 'linux', arch: 'x64', publicKeys: publicKeysOf(identity) },
    });
  }

  it('lists tokens without their secret, and a revoked token cannot enroll', async () => {
    const issued = await call(`${server.url}/v1/admin/install-tokens`, {
      token: ACME_ADMIN_TOKEN,
      body: { tenant: 'acme' },
    });
    expect(issued.status).toBe(201);
    const { id, token } = issued.body as { id: string; token: string };

    const listed = await call(`${server.url}/v1/admin/install-tokens`, { token: ACME_ADMIN_TOKEN });
    expect(listed.status).toBe(200);
    expect(listed.body.installTokens).toContainEqual(
      expect.objectContaining({ id, tenant: 'acme', state: 'unused', revokedAt: null }),
    );
    expect(JSON.stringify(listed.body)).not.toContain(token);
    // Another tenant's admin neither lists nor revokes it.
    const other = await call(`${server.url}/v1/admin/install-tokens`, {
      token: GLOBEX_ADMIN_TOKEN,
    });
    expect(other.body.installTokens.map((t: { id: string }) => t.id)).not.toContain(id);
    const foreign = await call(`${server.url}/v1/admin/install-tokens/${id}`, {
      token: GLOBEX_ADMIN_TOKEN,
      method: 'DELETE',
    });
    expect(foreign.status).toBe(404);

    const revoked = await call(`${server.url}/v1/admin/install-tokens/${id}`, {
      token: ACME_ADMIN_TOKEN,
      method: 'DELETE',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, state: 'revoked', changed: true });
    const again = await call(`${server.url}/v1/admin/install-tokens/${id}/revoke`, {
      token: OPERATOR_TOKEN,
      method: 'POST',
    });
    expect(again.body).toMatchObject({ id, state: 'revoked', changed: false });

    const refused = await enrollWith(token);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('install_token_revoked');
    const devices = await call(`${server.url}/v1/admin/devices`, { token: ACME_ADMIN_TOKEN });
    expect(devices.body.devices).toEqual([]);

    const audit = await call(`${server.url}/v1/admin/audit?limit=1000`, { token: OPERATOR_TOKEN });
    const rows = (audit.body.entries as Array<{ action: string; subject: string }>).filter(
      (entry) => entry.action === 'install_token.revoke' && entry.subject === `install_token:${id}`,
    );
    expect(rows).toHaveLength(1);
  });

  it('leaves an unrevoked token working and reports used and unknown tokens', async () => {
    const issued = await call(`${server.url}/v1/admin/install-tokens`, {
      token: OPERATOR_TOKEN,
      body: { tenant: 'acme' },
    });
    const enrolled = await enrollWith(issued.body.token);
    expect(enrolled.status).toBe(201);
    const shown = await call(`${server.url}/v1/admin/install-tokens/${issued.body.id}`, {
      token: OPERATOR_TOKEN,
    });
    expect(shown.body).toMatchObject({ state: 'used', usedByDeviceId: enrolled.body.deviceId });
    const unknown = await call(`${server.url}/v1/admin/install-tokens/itk_nope`, {
      token: OPERATOR_TOKEN,
      method: 'DELETE',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });
});
