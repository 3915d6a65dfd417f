// The client against a hostile server on a real socket: a session offer not signed by the
// pinned key is refused before the connection counts as ready, and a box that does not open
// drops the connection (the next one starts a fresh session) instead of being trusted.
import {
  commandBoxAad,
  createSessionSealer,
  generateIdentity,
  type Identity,
  publicKeysOf,
  REALTIME_CLOSE_CODES,
  type RealtimeFrame,
  systemClock,
  systemRandom,
} from '@fieldline/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type OpenedBody, RealtimeClient } from '../../src/realtime/realtime-client.js';
import type { RealtimeState } from '../../src/realtime/realtime-types.js';
import { createReconnectBackoff } from '../../src/realtime/reconnect-backoff.js';

interface HostileServer {
  readonly url: string;
  /** Every first frame (hello or resume) received, in order. */
  readonly firstFrames: RealtimeFrame[];
  /** Close codes the server saw, in order. */
  readonly closeCodes: number[];
  close(): Promise<void>;
}

/**
 * A server that welcomes every hello with a session signed by `signer`, then runs `after`
 * with the connection's sealer and socket.
 */
async function startHostileServer(
  device: Identity,
  deviceId: string,
  signer: Identity,
  after: (
    sealer: Awaited<ReturnType<typeof createSessionSealer>>['sealer'],
    socket: WebSocket,
  ) => Promise<void>,
): Promise<HostileServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const firstFrames: RealtimeFrame[] = [];
  const closeCodes: number[] = [];
  wss.on('connection', (socket) => {
    socket.on('close', (code) => closeCodes.push(code));
    // Like the real server: the challenge first, which this one does not check.
    socket.send(JSON.stringify({ kind: 'challenge', challenge: 'C'.repeat(43) }));
    socket.once('message', async (data) => {
      const first = JSON.parse(data.toString()) as RealtimeFrame;
      firstFrames.push(first);
      if (first.kind !== 'hello' && first.kind !== 'resume') return;
      const session = await createSessionSealer({
        server: signer,
        deviceId,
        nonce: first.nonce,
        deviceEncryptionPublicKey: publicKeysOf(device).encryptionPublicKey,
      });
      socket.send(
        JSON.stringify({
          kind: 'welcome',
          sessionToken: 't'.repeat(43),
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          heartbeatIntervalMs: 25_000,
          heartbeatTimeoutMs: 60_000,
          session: session.offer,
        }),
      );
      await after(session.sealer, socket);
    });
  });
  const address = wss.address();
  if (typeof address === 'string' || address === null) throw new Error('no port');
  return {
    url: `ws://127.0.0.1:${address.port}/v1/ws`,
    firstFrames,
    closeCodes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

describe('real-time client: session integrity', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function connect(
    server: HostileServer,
    device: Identity,
    deviceId: string,
    pinned: Identity,
  ) {
    const states: RealtimeState[] = [];
    const bodies: Array<Promise<OpenedBody>> = [];
    const client = new RealtimeClient({
      WebSocket,
      url: server.url,
      deviceId,
      identity: device,
      serverSigningPublicKey: publicKeysOf(pinned).signingPublicKey,
      clock: systemClock,
      random: systemRandom,
      backoff: createReconnectBackoff({ baseMs: 20, capMs: 50, random: systemRandom }),
      maxAttemptsBeforeOffline: 100,
      connectTimeoutMs: 2_000,
      onChange: (change) => states.push(change.state),
      onFrame: (_frame, body) => {
        if (body !== undefined) bodies.push(body);
      },
      onDisconnect: () => undefined,
      onRevoked: () => undefined,
    });
    client.start();
    cleanups.push(() => client.stop());
    return { client, states, bodies };
  }

  it('refuses a welcome whose session is not signed by the pinned server key', async () => {
    const device = await generateIdentity();
    const pinned = await generateIdentity();
    const impostor = await generateIdentity();
    const server = await startHostileServer(device, 'dev_a', impostor, async () => undefined);
    cleanups.push(() => server.close());
    const { states } = await connect(server, device, 'dev_a', pinned);
    await expect.poll(() => server.closeCodes.length).toBeGreaterThanOrEqual(2);
    expect(server.closeCodes[0]).toBe(REALTIME_CLOSE_CODES.unauthenticated);
    expect(states).not.toContain('ready');
  });

  it('opens genuine boxes, and drops the connection at one that does not open', async () => {
    const device = await generateIdentity();
    const serverIdentity = await generateIdentity();
    let connections = 0;
    const server = await startHostileServer(
      device,
      'dev_b',
      serverIdentity,
      async (sealer, socket) => {
        connections += 1;
        if (connections > 1) return;
        const genuine = await sealer.seal(new TextEncoder().encode('{"n":1}'), commandBoxAad('c1'));
        socket.send(JSON.stringify({ kind: 'command', id: 'c1', box: genuine }));
        // A box sealed for another id: the device must refuse it, not run it.
        const misbound = await sealer.seal(
          new TextEncoder().encode('{"n":2}'),
          commandBoxAad('c9'),
        );
        socket.send(JSON.stringify({ kind: 'command', id: 'c2', box: misbound }));
      },
    );
    cleanups.push(() => server.close());
    const { states, bodies } = await connect(server, device, 'dev_b', serverIdentity);
    await expect.poll(() => bodies.length).toBe(2);
    expect(await bodies[0]).toEqual({ ok: true, body: { n: 1 } });
    expect(await bodies[1]).toEqual({ ok: false, code: 'decrypt_failed' });
    await expect.poll(() => server.closeCodes[0]).toBe(REALTIME_CLOSE_CODES.invalidFrame);
    // It comes back (resuming its token) under a new session bound to a new nonce.
    await expect.poll(() => server.firstFrames.length).toBe(2);
    expect(server.firstFrames.map((frame) => frame.kind)).toEqual(['hello', 'resume']);
    const nonces = server.firstFrames.map((frame) => ('nonce' in frame ? frame.nonce : ''));
    expect(new Set(nonces).size).toBe(2);
    await expect.poll(() => states.filter((state) => state === 'ready').length).toBe(2);
  });
});
