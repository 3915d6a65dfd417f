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

async function enrollRequest() {
  const identity = await generateIdentity();
  return {
    hostname: 'lab-07',
    os: 'linux',
    arch: 'x64',
    agentVersion: '0.1.0',
    publicKeys: publicKeysOf(identity),
  };
}

describeEachDatabase('enrollment and device auth over HTTP', (current) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(current().db);
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  async function installToken(tenant = 'acme', token = OPERATOR_TOKEN, ttlSeconds?: number) {
    const response = await call(`${server.url}/v1/admin/install-tokens`, {
      token,
      body: ttlSeconds === undefined ? { tenant } : { tenant, ttlSeconds },
    });
    expect(response.status).toBe(201);
    return response.body.token as string;
  }

  it('enrolls with an install token and returns identity, pinned keys, config and consent', async () => {
    const token = await installToken();
    const response = await call(`${server.url}/v1/enroll`, { token, body: await enrollRequest() });
    expect(response.status).toBe(201);
    expect(response.body.deviceId).toMatch(/^dev_/);
    expect(response.body.tenant).toBe('acme');
    expect(response.body.serverPublicKeys).toEqual(publicKeysOf(server.serverIdentity));
    expect(response.body.consent).toEqual({ status: 'unknown' });
    expect(response.body.config.flush.maxBatchEvents).toBe(500);
    const stored = await current()
      .db.selectFrom('device_tokens')
      .select('token_hash')
      .where('device_id', '=', response.body.deviceId)
      .executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(response.body.deviceToken);
    expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a used, an expired and an unknown install token with their own codes', async () => {
    const token = await installToken();
    expect(
      (await call(`${server.url}/v1/enroll`, { token, body: await enrollRequest() })).status,
    ).toBe(201);
    const again = await call(`${server.url}/v1/enroll`, { token, body: await enrollRequest() });
    expect([again.status, again.body.error.code]).toEqual([401, 'install_token_used']);

    const expiring = await installToken('acme', OPERATOR_TOKEN, 1);
    await current()
      .db.updateTable('install_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('used_at', 'is', null)
      .execute();
    const expired = await call(`${server.url}/v1/enroll`, {
      token: expiring,
      body: await enrollRequest(),
    });
    expect([expired.status, expired.body.error.code]).toEqual([401, 'install_token_expired']);

    const unknown = await call(`${server.url}/v1/enroll`, {
      token: 'fl_install_nope_nope_nope',
      body: await enrollRequest(),
    });
    expect([unknown.status, unknown.body.error.code]).toEqual([401, 'install_token_invalid']);
  });

  it('issues one identity when the same token is used in a race', async () => {
    const token = await installToken();
    const attempts = await Promise.all(
      Array.from({ length: 8 }, async () =>
        call(`${server.url}/v1/enroll`, { token, body: await enrollRequest() }),
      ),
    );
    const statuses = attempts.map((attempt) => attempt.status).sort();
    expect(statuses).toEqual([201, 401, 401, 401, 401, 401, 401, 401]);
    const devices = await current()
      .db.selectFrom('install_tokens')
      .select('used_by_device_id')
      .where('used_at', 'is not', null)
      .execute();
    const winner = attempts.find((attempt) => attempt.status === 201)?.body.deviceId;
    expect(devices.map((row) => row.used_by_device_id)).toContain(winner);
  });

  it('serves config with an ETag and answers 304 to If-None-Match', async () => {
    const enrolled = await call(`${server.url}/v1/enroll`, {
      token: await installToken(),
      body: await enrollRequest(),
    });
    const first = await call(`${server.url}/v1/config`, { token: enrolled.body.deviceToken });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const second = await fetch(`${server.url}/v1/config`, {
      headers: {
        authorization: `Bearer ${enrolled.body.deviceToken}`,
        'if-none-match': etag ?? '',
      },
    });
    expect(second.status).toBe(304);

    const tenantWide = await call(`${server.url}/v1/admin/config`, {
      method: 'PUT',
      token: ACME_ADMIN_TOKEN,
      body: { tenant: 'acme', config: { heartbeatIntervalMs: 30_000 } },
    });
    expect(tenantWide.body.heartbeatIntervalMs).toBe(30_000);
    const perDevice = await call(`${server.url}/v1/admin/config`, {
      method: 'PUT',
      token: ACME_ADMIN_TOKEN,
      body: {
        tenant: 'acme',
        deviceId: enrolled.body.deviceId,
        config: { flush: { maxBatchEvents: 100, maxBatchBytes: 65_536, flushIntervalMs: 1_000 } },
      },
    });
    expect(perDevice.body.flush.maxBatchEvents).toBe(100);
    const changed = await fetch(`${server.url}/v1/config`, {
      headers: {
        authorization: `Bearer ${enrolled.body.deviceToken}`,
        'if-none-match': etag ?? '',
      },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const merged = (await changed.json()) as {
      heartbeatIntervalMs: number;
      flush: { maxBatchEvents: number };
    };
    expect([merged.heartbeatIntervalMs, merged.flush.maxBatchEvents]).toEqual([30_000, 100]);
    const foreign = await call(`${server.url}/v1/admin/config`, {
      method: 'PUT',
      token: GLOBEX_ADMIN_TOKEN,
      body: { tenant: 'globex', deviceId: enrolled.body.deviceId, config: {} },
    });
    expect(foreign.status).toBe(404);
    const invalid = await call(`${server.url}/v1/admin/config`, {
      method: 'PUT',
      token: OPERATOR_TOKEN,
      body: { tenant: 'acme', config: { heartbeatIntervalMs: -5 } },
    });
    expect([invalid.status, invalid.body.error.code]).toEqual([400, 'invalid_request']);
  });

  it('refuses device routes without a valid token, and a revoked device', async () => {
    expect((await call(`${server.url}/v1/config`)).body.error.code).toBe('unauthenticated');
    expect(
      (await call(`${server.url}/v1/config`, { token: 'fl_device_wrong_wrong' })).body.error.code,
    ).toBe('invalid_token');
    const enrolled = await call(`${server.url}/v1/enroll`, {
      token: await installToken(),
      body: await enrollRequest(),
    });
    await current()
      .db.updateTable('devices')
      .set({ status: 'revoked' })
      .where('id', '=', enrolled.body.deviceId)
      .execute();
    const revoked = await call(`${server.url}/v1/config`, { token: enrolled.body.deviceToken });
    expect([revoked.status, revoked.body.error.code]).toEqual([401, 'device_revoked']);
  });

  it('keeps tenants apart: an admin of one tenant cannot see or touch another tenant', async () => {
    const acme = await call(`${server.url}/v1/enroll`, {
      token: await installToken('acme'),
      body: await enrollRequest(),
    });
    const globex = await call(`${server.url}/v1/enroll`, {
      token: await installToken('globex'),
      body: await enrollRequest(),
    });
    const acmeList = await call(`${server.url}/v1/admin/devices`, { token: ACME_ADMIN_TOKEN });
    const ids = acmeList.body.devices.map((d: { id: string }) => d.id);
    expect(ids).toContain(acme.body.deviceId);
    expect(ids).not.toContain(globex.body.deviceId);
    expect(acmeList.body.devices.every((d: { tenant: string }) => d.tenant === 'acme')).toBe(true);

    for (const path of ['', '/events']) {
      const other = await call(`${server.url}/v1/admin/devices/${globex.body.deviceId}${path}`, {
        token: ACME_ADMIN_TOKEN,
      });
      expect([other.status, other.body.error.code]).toEqual([404, 'not_found']);
      const own = await call(`${server.url}/v1/admin/devices/${globex.body.deviceId}${path}`, {
        token: GLOBEX_ADMIN_TOKEN,
      });
      expect(own.status).toBe(200);
    }
    const foreignToken = await call(`${server.url}/v1/admin/install-tokens`, {
      token: ACME_ADMIN_TOKEN,
      body: { tenant: 'globex' },
    });
    expect([foreignToken.status, foreignToken.body.error.code]).toEqual([403, 'forbidden']);
    const operator = await call(`${server.url}/v1/admin/devices`, { token: OPERATOR_TOKEN });
    const all = operator.body.devices.map((d: { id: string }) => d.id);
    expect(all).toEqual(expect.arrayContaining([acme.body.deviceId, globex.body.deviceId]));
  });

  it('answers bad requests with documented JSON errors', async () => {
    // A usable token: the body is only looked at once the token is known to be good.
    const token = await installToken();
    const cases: Array<[string, Parameters<typeof call>[1], number, string]> = [
      ['/v1/enroll', { token, body: '{not json' }, 400, 'invalid_json'],
      ['/v1/enroll', { token, body: { hostname: 1 } }, 400, 'invalid_request'],
      [
        '/v1/enroll',
        { token, body: 'x', headers: { 'content-type': 'text/plain' } },
        415,
        'unsupported_media_type',
      ],
      [
        '/v1/enroll',
        { token: 'fl_install_x_x_x_x', body: '{not json' },
        401,
        'install_token_invalid',
      ],
      ['/v1/nowhere', {}, 404, 'not_found'],
      ['/v1/enroll', { method: 'GET' }, 405, 'method_not_allowed'],
      ['/v1/admin/devices', { token: 'fl_admin_wrong_token_000' }, 401, 'invalid_token'],
      ['/v1/admin/devices/dev_x/events?limit=0', { token: OPERATOR_TOKEN }, 404, 'not_found'],
    ];
    for (const [path, init, status, code] of cases) {
      const response = await call(`${server.url}${path}`, init);
      expect([path, response.status, response.body?.error?.code]).toEqual([path, status, code]);
    }
    const big = await fetch(`${server.url}/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer fl_install_x_x_x_x' },
      body: 'x'.repeat(3 * 1024 * 1024),
    }).catch(() => undefined);
    if (big !== undefined) expect(big.status).toBe(413);
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
    expect((await call(`${server.url}/readyz`)).status).toBe(200);
  });
});
