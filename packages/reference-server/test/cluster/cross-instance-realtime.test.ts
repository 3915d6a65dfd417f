// Two built CLI processes on one PostgreSQL schema and a device socket: a command posted to B
// reaches the device connected to A, presence is seen from B's admin stream, and a newer
// connection on B replaces the one on A (docs/protocol.md §4.9). Needs TEST_DATABASE_URL.
import {
  createHelloFrame,
  generateIdentity,
  publicKeysOf,
  type RealtimeFrame,
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
  readonly closed: Promise<number>;
  send(frame: unknown): void;
}

// Opens a socket and answers the server's challenge with the hello `helloFor` signs for it.
function connect(baseUrl: string, helloFor: (challenge: string) => unknown): Promise<DeviceSocket> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws`);
  const frames: RealtimeFrame[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as RealtimeFrame;
    frames.push(frame);
    if (frame.kind === 'challenge') socket.send(JSON.stringify(helloFor(frame.challenge)));
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => {
      resolve({ frames, closed, send: (frame) => socket.send(JSON.stringify(frame)) });
    });
  });
}

async function getJson(target: string) {
  const response = await fetch(target, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return (await response.json()) as Record<string, unknown>;
}

describe.skipIf(!clusterTestsEnabled)('two reference servers and a device socket', () => {
  const cluster = useClusterSchema('fl_rs_ws');

  it('routes commands, presence and replacement across instances', async () => {
    const a = await cluster.start();
    const urlA = await listening(a);
    const b = await cluster.start();
    const urlB = await listening(b);

    const identity = await generateIdentity();
    const enrolled = await postJson(`${urlA}/v1/enroll`, printedInstallToken(a), {
      hostname: 'lab-09',
      os: 'linux',
      arch: 'x64',
      publicKeys: publicKeysOf(identity),
    });
    expect(enrolled.status).toBe(201);
    const deviceId = enrolled.body.deviceId as string;

    const stream = await openStream(`${urlB}/v1/admin/stream`);
    try {
      await expect.poll(() => stream.text(), { timeout: 1000 }).toMatch(/^: connected\n/);
      const onA = await connect(urlA, (challenge) =>
        createHelloFrame(deviceId, identity, challenge),
      );
      await expect.poll(() => onA.frames.map((f) => f.kind)).toContain('welcome');
      const online = new RegExp(
        `event: presence\\ndata: \\{[^\\n]*"deviceId":"${deviceId}"[^\\n]*"online":true`,
      );
      await expect.poll(() => stream.text(), { timeout: 1000, interval: 10 }).toMatch(online);

      // A command posted to B reaches the socket held by A.
      const posted = await postJson(
        `${urlB}/v1/admin/devices/${encodeURIComponent(deviceId)}/commands`,
        ADMIN_TOKEN,
        { type: 'ping' },
      );
      expect(posted.status).toBe(201);
      const commandId = (posted.body as { id?: string }).id as string;
      const postedAt = Date.now();
      await expect
        .poll(() => onA.frames.some((f) => f.kind === 'command' && f.id === commandId), {
          timeout: 1000,
          interval: 5,
        })
        .toBe(true);
      expect(Date.now() - postedAt).toBeLessThan(1000);
      onA.send({ kind: 'ack', id: commandId, status: 'acked' });
      await expect
        .poll(async () => (await getJson(`${urlB}/v1/admin/commands/${commandId}`)).status)
        .toBe('acked');

      // The same device connecting to B replaces its socket on A.
      const onB = await connect(urlB, (challenge) =>
        createHelloFrame(deviceId, identity, challenge),
      );
      expect(await onA.closed).toBe(4000);
      await expect.poll(() => onB.frames.map((f) => f.kind)).toContain('welcome');
      const detail = await getJson(`${urlA}/v1/admin/devices/${encodeURIComponent(deviceId)}`);
      expect(detail).toMatchObject({ online: true });
    } finally {
      stream.close();
    }
  });
});
