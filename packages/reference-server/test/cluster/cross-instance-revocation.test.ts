// Revocation and clone detection across two built CLI processes on one PostgreSQL schema,
// from outside: a device revoked through B loses its socket on A at once, nothing it sends
// afterwards is stored, every HTTP path answers 401 `device_revoked`; two holders of one
// device's keys on A and B end up quarantined and reported. Needs TEST_DATABASE_URL.
import { randomUUID } from 'node:crypto';
import {
  createHelloFrame,
  encodeBase64Url,
  generateIdentity,
  type Identity,
  publicKeysOf,
  type RealtimeFrame,
  SealKind,
  sealJson,
} from '@fieldline/core';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ADMIN_TOKEN,
  clusterTestsEnabled,
  listening,
  openStream,
  printedInstallToken,
  useClusterSchema,
} from '../support/cluster.js';
import { postJson } from '../support/http.js';

interface DeviceSocket {
  readonly frames: RealtimeFrame[];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly socket: WebSocket;
  send(frame: unknown): void;
}

// The server speaks first with the connection's challenge; the hello signs it (protocol §4.2).
function connect(baseUrl: string, hello: (challenge: string) => unknown): Promise<DeviceSocket> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws`);
  const frames: RealtimeFrame[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as RealtimeFrame;
    frames.push(frame);
    if (frame.kind === 'challenge') socket.send(JSON.stringify(hello(frame.challenge)));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => {
      resolve({ frames, closed, socket, send: (frame) => socket.send(JSON.stringify(frame)) });
    });
  });
}

async function call(
  target: string,
  init: { method?: string; token?: string; body?: unknown } = {},
) {
  const response = await fetch(target, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${init.token ?? ADMIN_TOKEN}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers of many routes, read field by field
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

function uuidv7(): string {
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

async function eventsFrame(deviceId: string, identity: Identity, serverKey: string) {
  const event = {
    id: uuidv7(),
    type: 'activity.app.launched',
    occurredAt: new Date().toISOString(),
    seq: 1,
    scope: 'activity',
    data: { app: 'calc' },
  };
  const sealed = encodeBase64Url(
    await sealJson({
      kind: SealKind.EventBatch,
      senderId: deviceId,
      messageId: randomUUID(),
      timestampMs: Date.now(),
      payload: { batchId: randomUUID(), sentAt: new Date().toISOString(), events: [event] },
      recipientEncryptionPublicKey: serverKey,
      sender: identity,
    }),
  );
  return {
    eventId: event.id,
    frame: {
      kind: 'message',
      id: randomUUID(),
      channel: 'events',
      type: 'batch',
      ts: Date.now(),
      sealed,
    },
  };
}

describe.skipIf(!clusterTestsEnabled)('revocation and clones across two reference servers', () => {
  const cluster = useClusterSchema('fl_rs_revoke');

  it('closes a revoked device on the other instance at once and refuses it everywhere', async () => {
    const a = await cluster.start();
    const urlA = await listening(a);
    const b = await cluster.start();
    const urlB = await listening(b);

    const identity = await generateIdentity();
    const enrolled = await postJson(`${urlA}/v1/enroll`, printedInstallToken(a), {
      hostname: 'lab-11',
      os: 'linux',
      arch: 'x64',
      publicKeys: publicKeysOf(identity),
    });
    expect(enrolled.status).toBe(201);
    const deviceId = enrolled.body.deviceId as string;
    const deviceToken = enrolled.body.deviceToken as string;
    const serverKey = (enrolled.body.serverPublicKeys as { encryptionPublicKey: string })
      .encryptionPublicKey;
    expect(
      (
        await call(`${urlA}/v1/admin/policies`, {
          body: { tenant: 'default', version: 1, scopes: ['activity'], text: 'Activity.' },
        })
      ).status,
    ).toBe(201);
    await call(`${urlA}/v1/admin/devices/${deviceId}/consent`, {
      body: { action: 'grant', scopes: ['activity'] },
    });
    const stored = async () =>
      (
        (await call(`${urlB}/v1/admin/devices/${deviceId}/events`)).body.events as Array<{
          id: string;
        }>
      ).map((event) => event.id);

    const onA = await connect(urlA, (challenge) => createHelloFrame(deviceId, identity, challenge));
    await expect.poll(() => onA.frames.map((f) => f.kind)).toContain('welcome');
    // Before the revocation, events over the socket are stored.
    const before = await eventsFrame(deviceId, identity, serverKey);
    onA.send(before.frame);
    await expect.poll(stored, { timeout: 5_000 }).toContain(before.eventId);

    const after = await eventsFrame(deviceId, identity, serverKey);
    const revoked = await call(`${urlB}/v1/admin/devices/${deviceId}/revoke`, { method: 'POST' });
    expect(revoked.status).toBe(200);
    // Sent at once, racing the close notice: it must not be stored either way.
    if (onA.socket.readyState === WebSocket.OPEN) onA.send(after.frame);
    const closed = await Promise.race([
      onA.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the socket on A was still open after 1 s')), 1_000),
      ),
    ]);
    expect(closed).toEqual({ code: 4403, reason: 'device_revoked' });

    for (const base of [urlA, urlB]) {
      const config = await call(`${base}/v1/config`, { token: deviceToken });
      expect(config.status).toBe(401);
      expect(config.body.error.code).toBe('device_revoked');
    }
    const again = await connect(urlB, (challenge) =>
      createHelloFrame(deviceId, identity, challenge),
    );
    expect(await again.closed).toEqual({ code: 4403, reason: 'device_revoked' });
    expect(await stored()).not.toContain(after.eventId);
    const detail = await call(`${urlA}/v1/admin/devices/${deviceId}`);
    expect(detail.body).toMatchObject({ status: 'revoked', online: false });
  });

  it('quarantines and reports two holders of one key that keep displacing each other', async () => {
    const a = await cluster.start();
    const urlA = await listening(a);
    const b = await cluster.start();
    const urlB = await listening(b);
    const install = await call(`${urlA}/v1/admin/install-tokens`, { body: { tenant: 'default' } });
    const identity = await generateIdentity();
    const enrolled = await postJson(`${urlA}/v1/enroll`, install.body.token as string, {
      hostname: 'lab-12',
      os: 'linux',
      arch: 'x64',
      publicKeys: publicKeysOf(identity),
    });
    const deviceId = enrolled.body.deviceId as string;
    const stream = await openStream(`${urlA}/v1/admin/stream`);
    try {
      await expect.poll(() => stream.text(), { timeout: 1000 }).toMatch(/^: connected\n/);
      const clone = async (base: string) => {
        const codes: number[] = [];
        for (let round = 0; round < 40; round += 1) {
          const socket = await connect(base, (challenge) =>
            createHelloFrame(deviceId, identity, challenge),
          );
          const { code } = await socket.closed;
          codes.push(code);
          if (code !== 4000) break;
        }
        return codes;
      };
      const [onA, onB] = await Promise.all([clone(urlA), clone(urlB)]);
      expect(onA.at(-1)).toBe(4423);
      expect(onB.at(-1)).toBe(4423);

      const detail = await call(`${urlB}/v1/admin/devices/${deviceId}`);
      expect(detail.body.quarantinedAt).not.toBeNull();
      expect(detail.body.cloneSuspectedAt).not.toBeNull();
      await expect
        .poll(() => stream.text(), { timeout: 2_000 })
        .toMatch(
          new RegExp(
            `event: device\\ndata: \\{[^\\n]*"deviceId":"${deviceId}"[^\\n]*"change":"clone_suspected"`,
          ),
        );
      const audit = await call(`${urlB}/v1/admin/audit?limit=1000`);
      expect(
        (audit.body.entries as Array<{ action: string; subject: string }>).filter(
          (entry) =>
            entry.action === 'device.clone_suspected' && entry.subject === `device:${deviceId}`,
        ),
      ).toHaveLength(1);
    } finally {
      stream.close();
    }
  });
});
