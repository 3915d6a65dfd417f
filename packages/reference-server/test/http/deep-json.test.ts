// Issue 11 point 5, from outside: JSON nested thousands deep used to overflow a recursive walk
// (500 on every JSON route, with any bearer string, since bodies were parsed before tokens were
// checked), a sealed job report with deep metrics answered a retryable 500, and 2 MB bodies of
// 1,000,000-deep arrays cost hundreds of MB. Now credentials are checked first, nesting deeper
// than 64 is refused by a linear scan before anything is parsed, and neither path answers 5xx.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { MAX_JSON_DEPTH, REALTIME_CLOSE_CODES, SealKind } from '@fieldline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  enrollTestDevice,
  issueInstallToken,
  sealedBody,
  type TestDevice,
} from '../support/device-client.js';
import { cliBuilt, type SpawnedServer, spawnServer } from '../support/spawned-server.js';

const deepArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number, leaf = '1') =>
  `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
// The issue's two bodies: 4,000 levels in 24 KB, and 1,000,000 levels in 2 MB.
const BODY_24_KB = deepObject(4_000);
const BODY_2_MB = deepArrays(1_000_000);

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly details: Record<string, unknown> | undefined;
}

async function post(
  url: string,
  token: string | undefined,
  body: string,
  method = 'POST',
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, body });
  const parsed = (await response.json()) as {
    error?: { code?: string; details?: Record<string, unknown> };
  };
  return { status: response.status, code: parsed.error?.code, details: parsed.error?.details };
}

describe.skipIf(!cliBuilt)('deep JSON against the built server (PGlite)', () => {
  let server: SpawnedServer;
  let device: TestDevice;
  let bodyRoutes: Array<{ readonly path: string; readonly method: string; readonly who: string }>;

  beforeAll(async () => {
    server = await spawnServer();
    device = await enrollTestDevice(server.url, server.installToken);
    bodyRoutes = [
      { path: '/v1/enroll', method: 'POST', who: 'install' },
      { path: '/v1/events', method: 'POST', who: 'device' },
      { path: '/v1/reports', method: 'POST', who: 'device' },
      { path: `/v1/commands/${randomUUID()}/ack`, method: 'POST', who: 'device' },
      { path: '/v1/admin/install-tokens', method: 'POST', who: 'admin' },
      { path: '/v1/admin/config', method: 'PUT', who: 'admin' },
      { path: '/v1/admin/policies', method: 'POST', who: 'admin' },
      { path: `/v1/admin/devices/${device.deviceId}/consent`, method: 'POST', who: 'admin' },
      { path: `/v1/admin/devices/${device.deviceId}/commands`, method: 'POST', who: 'admin' },
      { path: '/v1/admin/commands/broadcast', method: 'POST', who: 'admin' },
    ];
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 401 to deep bodies with a wrong or no credential, before parsing them', async () => {
    for (const { path, method } of bodyRoutes) {
      for (const token of [undefined, 'x', 'fl_install_0000', 'fl_device_0000', 'fl_admin_0000']) {
        for (const body of [BODY_24_KB, BODY_2_MB]) {
          const answer = await post(`${server.url}${path}`, token, body, method);
          expect([path, token, answer.status]).toEqual([path, token, 401]);
          expect(answer.code).toMatch(/^(unauthenticated|invalid_token|install_token_invalid)$/);
        }
      }
    }
    // The admin routes refuse the device's real token too, and the device routes the admin's.
    const admin = await post(`${server.url}/v1/admin/policies`, device.deviceToken, BODY_2_MB);
    expect(admin.status).toBe(401);
    const asDevice = await post(`${server.url}/v1/reports`, server.adminToken, BODY_2_MB);
    expect(asDevice.status).toBe(401);
  });

  it('does not even decompress a body before the credential is checked', async () => {
    // 64 MiB of spaces gzip to ~64 KiB: a bomb under the wire limit, over the decoded one.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const send = (token: string) =>
      fetch(`${server.url}/v1/admin/policies`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body: bomb,
      });
    expect((await send('fl_admin_wrong')).status).toBe(401);
    expect((await send(server.adminToken)).status).toBe(413);
  });

  it('answers 400 invalid_json (reason too_deep) to deep bodies with the right credential', async () => {
    const enrollToken = await issueInstallToken(server.url, server.adminToken, 'default');
    const tokens: Record<string, string> = {
      install: enrollToken,
      device: device.deviceToken,
      admin: server.adminToken,
    };
    for (const { path, method, who } of bodyRoutes) {
      for (const body of [deepArrays(MAX_JSON_DEPTH + 1), BODY_24_KB, BODY_2_MB]) {
        const answer = await post(`${server.url}${path}`, tokens[who], body, method);
        // The events route caps batches at 1 MiB before opening them.
        if (path === '/v1/events' && body === BODY_2_MB) {
          expect([path, answer.status, answer.code]).toEqual([path, 413, 'payload_too_large']);
          continue;
        }
        expect([path, answer.status, answer.code]).toEqual([path, 400, 'invalid_json']);
        expect(answer.details).toEqual({ reason: 'too_deep', maxDepth: MAX_JSON_DEPTH });
      }
    }
    // The install token was not spent by the refused enrollments.
    expect((await enrollTestDevice(server.url, enrollToken)).deviceId).toMatch(/^dev_/);
  });

  it('refuses a sealed job report or event batch nested too deep with a 400, never a 500', async () => {
    const now = Date.now();
    const report = (metrics: string) =>
      `{"id":"${randomUUID()}","job":"backup","startedAt":"${new Date(now - 1000).toISOString()}",` +
      `"finishedAt":"${new Date(now).toISOString()}","status":"succeeded","durationMs":1000,"metrics":${metrics}}`;
    const deepReport = await sealedBody(device, SealKind.JobReport, report(deepObject(5_000)));
    const refused = await post(`${server.url}/v1/reports`, device.deviceToken, deepReport);
    expect([refused.status, refused.code]).toEqual([400, 'invalid_sealed_message']);
    expect(refused.details).toMatchObject({ reason: 'invalid_payload', maxDepth: MAX_JSON_DEPTH });

    const batch = (data: string) =>
      `{"batchId":"${randomUUID()}","sentAt":"${new Date().toISOString()}","events":[{"id":"${randomUUID()}",` +
      `"type":"device.heartbeat","occurredAt":"${new Date().toISOString()}","seq":1,"scope":"operational","data":${data}}]}`;
    const deepBatch = await sealedBody(device, SealKind.EventBatch, batch(deepObject(5_000, '{}')));
    const batchAnswer = await post(`${server.url}/v1/events`, device.deviceToken, deepBatch);
    expect([batchAnswer.status, batchAnswer.code]).toEqual([400, 'invalid_sealed_message']);

    // A report with real (shallow) metrics is still accepted.
    const good = await sealedBody(device, SealKind.JobReport, report('{"bytes":1}'));
    const accepted = await fetch(`${server.url}/v1/reports`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${device.deviceToken}`,
        'content-type': 'application/json',
      },
      body: good,
    });
    expect(accepted.status).toBe(200);
  });

  it('closes a WebSocket whose frame nests too deep with the invalid-frame code', async () => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(deepArrays(100_000));
    expect(await closed).toBe(REALTIME_CLOSE_CODES.invalidFrame);
  });

  it('keeps memory bounded under concurrent 2 MB deep bodies and stays up', async () => {
    const before = await server.rssBytes();
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          post(`${server.url}/v1/admin/policies`, server.adminToken, BODY_2_MB),
        ),
      );
      for (const answer of answers) expect(answer.status).toBe(400);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    }
    // Before, four such bodies took the server from 492 to 862 MB; now nothing is built from them.
    expect((await server.rssBytes()) - before).toBeLessThan(100 * 1024 * 1024);
    expect(server.exited()).toBeUndefined();
    expect(server.stderr()).not.toMatch(/unexpected error|RangeError|Maximum call stack/);
  });
});
