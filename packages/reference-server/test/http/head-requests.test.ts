// Issue 11 point 11, from outside: HEAD on GET routes answered 405. Now every GET route answers
// HEAD with GET's status and headers and no body, a 405 lists the allowed methods, and HEAD on
// GET /v1/commands delivers nothing (a delivery counts an attempt).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollTestDevice, type TestDevice } from '../support/device-client.js';
import { cliBuilt, type SpawnedServer, spawnServer } from '../support/spawned-server.js';

interface Raw {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bytes: number;
}

// node:http rather than fetch: it shows what went over the socket, body bytes included.
function send(url: string, method: string, token?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } },
      (incoming) => {
        let bytes = 0;
        incoming.on('data', (chunk: Buffer) => {
          bytes += chunk.byteLength;
        });
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, bytes }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe.skipIf(!cliBuilt)('HEAD against the built server', () => {
  let server: SpawnedServer;
  let device: TestDevice;
  beforeAll(async () => {
    server = await spawnServer();
    device = await enrollTestDevice(server.url, server.installToken);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers HEAD on GET routes with the GET status, type and length and no body', async () => {
    const cases: Array<[string, string | undefined]> = [
      ['/healthz', undefined],
      ['/readyz', undefined],
      ['/v1/config', device.deviceToken],
      ['/v1/config', 'fl_device_wrong'],
      ['/v1/admin/devices', server.adminToken],
      [`/v1/admin/devices/${device.deviceId}`, server.adminToken],
      ['/v1/admin/devices/dev_missing', server.adminToken],
    ];
    for (const [path, token] of cases) {
      const get = await send(`${server.url}${path}`, 'GET', token);
      const head = await send(`${server.url}${path}`, 'HEAD', token);
      expect([path, head.status, head.bytes]).toEqual([path, get.status, 0]);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers['content-length']).toBe(String(get.bytes));
    }
  });

  it('lists HEAD in the Allow header of a 405', async () => {
    const put = await send(`${server.url}/healthz`, 'PUT');
    expect([put.status, put.headers.allow]).toEqual([405, 'GET, HEAD']);
    const head = await send(`${server.url}/v1/enroll`, 'HEAD');
    expect([head.status, head.headers.allow, head.bytes]).toEqual([405, 'POST', 0]);
  });

  it('delivers no command on HEAD /v1/commands', async () => {
    const created = await fetch(`${server.url}/v1/admin/devices/${device.deviceId}/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'head.check' }),
    });
    const { id } = (await created.json()) as { id: string };
    const attempts = async () => {
      const record = await fetch(`${server.url}/v1/admin/commands/${id}`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      });
      return ((await record.json()) as { attempts: number }).attempts;
    };
    const before = await attempts();
    const head = await send(`${server.url}/v1/commands`, 'HEAD', device.deviceToken);
    expect([head.status, head.bytes]).toEqual([200, 0]);
    expect(await attempts()).toBe(before);
    const get = await send(`${server.url}/v1/commands`, 'GET', device.deviceToken);
    expect(get.status).toBe(200);
    expect(await attempts()).toBe(before + 1);
  });
});
