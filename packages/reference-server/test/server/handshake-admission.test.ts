// Issue 11 point 4 from outside: one source holding as many silent WebSocket handshakes as it
// can no longer keeps devices from other sources out. Linux routes all of 127/8 to lo, so the
// flood binds 127.0.0.2 (and more) while devices connect from 127.0.0.1; behind a trusted
// proxy the source is read from X-Forwarded-For instead.
import {
  createHelloFrame,
  generateIdentity,
  type Identity,
  publicKeysOf,
  type RealtimeFrame,
} from '@fieldline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { captureLogger } from '../support/capture-logger.js';
import { postJson } from '../support/http.js';
import { type RawWebSocket, rawUpgrade } from '../support/raw-ws.js';
import { makeTempDir } from '../support/temp-dir.js';

interface Device {
  readonly deviceId: string;
  readonly identity: Identity;
}

async function enroll(server: RunningServer): Promise<Device> {
  const { token } = await server.issueInstallToken('acme');
  const identity = await generateIdentity();
  const enrolled = await postJson(`${server.url}/v1/enroll`, token, {
    hostname: 'lab',
    os: 'linux',
    arch: 'x64',
    publicKeys: publicKeysOf(identity),
  });
  if (enrolled.body.deviceId === undefined) throw new Error(JSON.stringify(enrolled.body));
  return { deviceId: enrolled.body.deviceId, identity };
}

/** A device's hello over a real socket; resolves with `welcome` or the refusal it met. */
function connectDevice(
  server: RunningServer,
  device: Device,
  headers: Record<string, string> = {},
): Promise<{ outcome: string; socket: WebSocket }> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, {
    localAddress: '127.0.0.1',
    headers,
  });
  return new Promise((resolve) => {
    socket.on('unexpected-response', (_request, response) =>
      resolve({ outcome: `http ${response.statusCode}`, socket }),
    );
    socket.on('error', () => undefined);
    socket.on('close', (code) => resolve({ outcome: `closed ${code}`, socket }));
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as RealtimeFrame;
      if (frame.kind === 'challenge') {
        socket.send(
          JSON.stringify(createHelloFrame(device.deviceId, device.identity, frame.challenge)),
        );
      }
      if (frame.kind === 'welcome') resolve({ outcome: 'welcome', socket });
    });
  });
}

async function flood(
  server: RunningServer,
  count: number,
  options: Parameters<typeof rawUpgrade>[1],
): Promise<RawWebSocket[]> {
  return Promise.all(Array.from({ length: count }, () => rawUpgrade(server.url, options)));
}

describe('handshake admission under a flood of silent sockets', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let server: RunningServer;
  let devices: Device[];
  const held: Array<RawWebSocket | WebSocket> = [];

  beforeAll(async () => {
    dir = await makeTempDir();
    server = await startServer({
      port: 0,
      dataDir: dir.path,
      logger: captureLogger('warn').logger,
      // Long enough that nothing times out during the test: the flood holds its slots.
      realtime: {
        maxPendingHandshakes: 40,
        maxPendingHandshakesPerSource: 10,
        helloTimeoutMs: 30_000,
      },
    });
    devices = await Promise.all(Array.from({ length: 12 }, () => enroll(server)));
  });
  afterAll(async () => {
    for (const socket of held) {
      if (socket instanceof WebSocket) socket.terminate();
      else socket.socket.destroy();
    }
    await server?.stop();
    await dir?.remove();
  });

  const refusedCount = async (reason: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((candidate) =>
        candidate.startsWith(`fieldline_realtime_handshakes_refused_total{reason="${reason}"} `),
      );
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };

  it('caps one source at its share while devices from another source get through', async () => {
    const attack = await flood(server, 60, { localAddress: '127.0.0.2' });
    held.push(...attack);
    const statuses = attack.map((peer) => peer.status);
    expect(statuses.filter((status) => status === 101)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(50);
    expect(attack.find((peer) => peer.status === 429)?.head).toMatch(/\r\nRetry-After: 1/i);
    expect(await refusedCount('source_full')).toBe(50);

    const connected = await Promise.all(
      devices.slice(0, 6).map((device) => connectDevice(server, device)),
    );
    held.push(...connected.map(({ socket }) => socket));
    expect(connected.map(({ outcome }) => outcome)).toEqual(Array(6).fill('welcome'));
  });

  it('when every slot is taken, a source holding fewer takes the oldest silent one of the largest', async () => {
    // 127.0.0.2 still holds 10; three more sources fill the instance's 40.
    for (const address of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const more = await flood(server, 10, { localAddress: address });
      held.push(...more);
      expect(more.every((peer) => peer.status === 101)).toBe(true);
    }
    // A flooding source over nothing gets nothing more...
    const extra = await rawUpgrade(server.url, { localAddress: '127.0.0.3' });
    held.push(extra);
    expect(extra.status).toBe(429);
    // ...but a device from a source with none pending still gets in, in the slot of the oldest
    // silent handshake of a largest holder.
    const floodPeers = held.filter((peer): peer is RawWebSocket => !(peer instanceof WebSocket));
    const evicted = () => floodPeers.filter((peer) => peer.closeCode() === 1013);
    const first = await connectDevice(server, devices[6] as Device);
    held.push(first.socket);
    expect(first.outcome).toBe('welcome');
    await expect.poll(() => evicted().length).toBe(1);
    // More at once: each gets in, taking a silent slot whenever none is free.
    const connected = await Promise.all(
      devices.slice(7).map((device) => connectDevice(server, device)),
    );
    held.push(...connected.map(({ socket }) => socket));
    expect(connected.map(({ outcome }) => outcome)).toEqual(Array(5).fill('welcome'));
    // The evicted peers never answer the close: counted as sent once the server gives up on them.
    const count = evicted().length;
    expect(count).toBeGreaterThanOrEqual(1);
    await expect
      .poll(async () => (await fetch(`${server.url}/metrics`)).text())
      .toContain(`fieldline_realtime_closed_total{code="1013",initiator="server"} ${count}`);
  });
});

describe('handshake admission behind a trusted proxy', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let server: RunningServer;
  const held: Array<RawWebSocket | WebSocket> = [];

  beforeAll(async () => {
    dir = await makeTempDir();
    server = await startServer({
      port: 0,
      dataDir: dir.path,
      logger: captureLogger('warn').logger,
      trustedProxies: ['127.0.0.1'],
      realtime: { maxPendingHandshakesPerSource: 5, helloTimeoutMs: 30_000 },
    });
  });
  afterAll(async () => {
    for (const socket of held) {
      if (socket instanceof WebSocket) socket.terminate();
      else socket.socket.destroy();
    }
    await server?.stop();
    await dir?.remove();
  });

  it('counts each client the proxy names, and ignores the header from anyone else', async () => {
    const attack = await flood(server, 8, {
      localAddress: '127.0.0.1',
      headers: { 'X-Forwarded-For': '10.9.9.9, 198.51.100.7' },
    });
    held.push(...attack);
    expect(attack.map((peer) => peer.status).filter((status) => status === 429)).toHaveLength(3);
    // Another client behind the same proxy is not the attacker.
    const device = await enroll(server);
    const { outcome, socket } = await connectDevice(server, device, {
      'X-Forwarded-For': '198.51.100.8',
    });
    held.push(socket);
    expect(outcome).toBe('welcome');
    // An untrusted peer cannot spread itself over invented addresses.
    const spoofed = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        rawUpgrade(server.url, {
          localAddress: '127.0.0.2',
          headers: { 'X-Forwarded-For': `203.0.113.${index}` },
        }),
      ),
    );
    held.push(...spoofed);
    expect(spoofed.map((peer) => peer.status).filter((status) => status === 429)).toHaveLength(3);
  });
});
