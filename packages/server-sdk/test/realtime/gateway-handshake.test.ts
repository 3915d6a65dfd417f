// The §4.2 handshake over real sockets: hello, resume, replacement, and every refusal with
// its documented error code and close code, while the server keeps serving others.
import { randomBytes } from 'node:crypto';
import {
  createHelloFrame,
  createResumeFrame,
  generateIdentity,
  REALTIME_CLOSE_CODES,
  type WelcomeFrame,
} from '@fieldline/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PresenceChange } from '../../src/realtime/create-realtime-gateway.js';
import { type GatewayServer, startGatewayServer } from '../support/gateway-server.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  acceptSession,
  challengeOf,
  connectDevice,
  type EnrolledDevice,
  enrollDevice,
  openSocket,
} from '../support/ws-device.js';

const isError = (frame: { kind: string }) => frame.kind === 'error';

describeEachDatabase('realtime gateway: handshake', (current) => {
  let server: GatewayServer;
  let device: EnrolledDevice;
  const presence: PresenceChange[] = [];

  beforeAll(async () => {
    server = await startGatewayServer(current().db, { helloTimeoutMs: 300 });
    server.gateway.on('presence', (change) => presence.push(change));
    device = await enrollDevice(server.url);
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  async function deviceRow(id: string) {
    return current()
      .db.selectFrom('devices')
      .select(['connected_at', 'connected_instance', 'last_seen_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  it('welcomes a signed hello, stores a hashed session and marks the device online', async () => {
    const { client, welcome } = await connectDevice(server.url, device);
    expect(welcome).toMatchObject({ kind: 'welcome', heartbeatIntervalMs: 25_000 });
    expect(welcome.sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(welcome.expiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    const sessions = await current()
      .db.selectFrom('sessions')
      .select(['token_hash'])
      .where('device_id', '=', device.deviceId)
      .execute();
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.map((row) => row.token_hash)).not.toContain(welcome.sessionToken);
    expect(server.gateway.isConnected(device.deviceId)).toBe(true);
    expect(server.gateway.connectedDevices).toBe(1);
    const row = await deviceRow(device.deviceId);
    expect(row.connected_instance).toBe(server.gateway.instanceId);
    expect(presence.at(-1)).toMatchObject({ deviceId: device.deviceId, online: true });

    client.sendFrame({ kind: 'heartbeat', ts: Date.now() });
    const answer = await client.next((frame) => frame.kind === 'heartbeat');
    expect(answer).toMatchObject({ kind: 'heartbeat' });

    await client.close();
    await expect.poll(() => presence.at(-1)?.online).toBe(false);
    expect((await deviceRow(device.deviceId)).connected_at).toBeNull();
    expect(server.gateway.isConnected(device.deviceId)).toBe(false);
    expect(server.gateway.connectedDevices).toBe(0);
  });

  it('resumes with the session token, and refuses an unknown or foreign token', async () => {
    const first = await connectDevice(server.url, device);
    await first.client.close();
    const resumed = await openSocket(server.url);
    const resume = createResumeFrame(
      device.deviceId,
      device.identity,
      first.welcome.sessionToken,
      await challengeOf(resumed),
    );
    const nonce = resume.nonce;
    resumed.sendFrame(resume);
    const welcome = await resumed.next((frame): frame is WelcomeFrame => frame.kind === 'welcome');
    expect(welcome).toMatchObject({
      sessionToken: first.welcome.sessionToken,
      expiresAt: first.welcome.expiresAt,
    });
    // A resumed connection gets a session of its own, bound to the resume's nonce.
    expect(welcome.session.enc).not.toBe(first.welcome.session.enc);
    acceptSession(resumed, device, nonce, welcome);
    expect(await server.gateway.send(device.deviceId, 'probe', 'ping', { n: 7 })).toBe(true);
    const pushed = await resumed.next((frame) => frame.kind === 'message');
    expect(await resumed.payloadOf(pushed)).toEqual({ n: 7 });
    await resumed.close();

    const other = await enrollDevice(server.url);
    for (const [owner, token] of [
      [device, randomBytes(32).toString('base64url')],
      [other, first.welcome.sessionToken],
    ] as const) {
      const client = await openSocket(server.url);
      client.sendFrame(
        createResumeFrame(owner.deviceId, owner.identity, token, await challengeOf(client)),
      );
      expect(await client.closed).toEqual({
        code: REALTIME_CLOSE_CODES.unauthenticated,
        reason: 'session_invalid',
      });
      expect(await client.next(isError)).toMatchObject({ code: 'session_invalid' });
    }
  });

  it('replaces an older connection of the same device with 4000', async () => {
    const first = await connectDevice(server.url, device);
    const second = await connectDevice(server.url, device);
    expect(await first.client.closed).toEqual({ code: 4000, reason: 'replaced' });
    expect(server.gateway.isConnected(device.deviceId)).toBe(true);
    const onlineEvents = presence.filter((change) => change.deviceId === device.deviceId);
    await second.client.close();
    await expect
      .poll(() => presence.filter((change) => change.deviceId === device.deviceId).length)
      .toBe(onlineEvents.length + 1);
    expect(presence.at(-1)).toMatchObject({ online: false });
  });

  it('closes each hostile first frame with its documented code and error', async () => {
    const stranger = await generateIdentity();
    const cases: Array<{ frame: (challenge: string) => unknown; code: number; error?: string }> = [
      { frame: () => 'not json at all', code: 4400, error: 'invalid_frame' },
      { frame: () => ({ kind: 'hello' }), code: 4400, error: 'invalid_frame' },
      { frame: () => ({ kind: 'heartbeat', ts: 1 }), code: 4400, error: 'invalid_frame' },
      {
        // U+0000 and an unpaired surrogate cannot reach the database: a coded 4400, no 1011.
        frame: (challenge) => createHelloFrame('dev\u0000x', device.identity, challenge),
        code: 4400,
        error: 'invalid_frame',
      },
      {
        frame: (challenge) => createHelloFrame('dev\ud800x', device.identity, challenge),
        code: 4400,
        error: 'invalid_frame',
      },
      {
        frame: (challenge) => ({
          ...createResumeFrame(device.deviceId, device.identity, 'T'.repeat(43), challenge),
          deviceId: `${device.deviceId}\u0000`,
        }),
        code: 4400,
        error: 'invalid_frame',
      },
      {
        frame: (challenge) => createHelloFrame('no_such_device', device.identity, challenge),
        code: 4401,
        error: 'unknown_device',
      },
      {
        frame: (challenge) => createHelloFrame(device.deviceId, stranger, challenge),
        code: 4401,
        error: 'bad_signature',
      },
      {
        frame: (challenge) => {
          const fresh = createHelloFrame(device.deviceId, device.identity, challenge);
          return { ...fresh, ts: fresh.ts + 1 };
        },
        code: 4401,
        error: 'bad_signature',
      },
      {
        // Signed for some other connection's challenge.
        frame: () => createHelloFrame(device.deviceId, device.identity, 'C'.repeat(43)),
        code: 4401,
        error: 'bad_signature',
      },
      {
        frame: (challenge) =>
          createHelloFrame(device.deviceId, device.identity, challenge, {
            clock: { now: () => Date.now() - 61_000 },
          }),
        code: 4401,
        error: 'stale_hello',
      },
    ];
    for (const { frame, code, error } of cases) {
      const client = await openSocket(server.url);
      const sent = frame(await challengeOf(client));
      client.sendFrame(sent);
      const closed = await client.closed;
      expect(closed.code, JSON.stringify(sent)).toBe(code);
      if (error !== undefined) expect(await client.next(isError)).toMatchObject({ code: error });
    }

    const binary = await openSocket(server.url);
    binary.socket.send(Buffer.from([1, 2, 3]));
    expect((await binary.closed).code).toBe(4400);

    const silent = await openSocket(server.url);
    expect(await silent.closed).toEqual({ code: 4408, reason: 'hello_timeout' });

    // The server still serves a well-behaved device after all of that.
    const { client } = await connectDevice(server.url, device);
    await client.close();
  });

  it('refuses a hello replayed on another connection, even after the first one closed', async () => {
    const first = await openSocket(server.url);
    const hello = createHelloFrame(device.deviceId, device.identity, await challengeOf(first));
    first.sendFrame(hello);
    await first.next((frame) => frame.kind === 'welcome');
    await first.close();
    const replay = await openSocket(server.url);
    await challengeOf(replay);
    replay.sendFrame(hello);
    expect(await replay.closed).toEqual({ code: 4401, reason: 'bad_signature' });
  });

  it('refuses a reused hello nonce with 4409, even signed for the new challenge', async () => {
    const first = await openSocket(server.url);
    const hello = createHelloFrame(device.deviceId, device.identity, await challengeOf(first));
    first.sendFrame(hello);
    await first.next((frame) => frame.kind === 'welcome');
    await first.close();
    const again = await openSocket(server.url);
    const challenge = await challengeOf(again);
    const sameNonce = createHelloFrame(device.deviceId, device.identity, challenge, {
      clock: { now: () => hello.ts },
      random: { bytes: () => Buffer.from(hello.nonce, 'base64url'), float: () => 0 },
    });
    again.sendFrame(sameNonce);
    expect(await again.closed).toEqual({ code: 4409, reason: 'replayed' });
  });

  it('refuses a revoked device with 4403', async () => {
    const revoked = await enrollDevice(server.url);
    await current()
      .db.updateTable('devices')
      .set({ status: 'revoked' })
      .where('id', '=', revoked.deviceId)
      .execute();
    const client = await openSocket(server.url);
    client.sendFrame(
      createHelloFrame(revoked.deviceId, revoked.identity, await challengeOf(client)),
    );
    expect(await client.closed).toEqual({ code: 4403, reason: 'device_revoked' });
  });

  it('closes a second hello after the welcome with 4400', async () => {
    const { client } = await connectDevice(server.url, device);
    client.sendFrame(createHelloFrame(device.deviceId, device.identity, await challengeOf(client)));
    expect((await client.closed).code).toBe(4400);
  });

  it('answers other upgrade paths with 404 and leaves them unupgraded', async () => {
    const response = await new Promise<string>((resolve, reject) => {
      import('node:net')
        .then(({ connect }) => {
          const url = new URL(server.url);
          const socket = connect(Number(url.port), url.hostname, () => {
            socket.write(
              'GET /v1/elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
                'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
            );
          });
          let text = '';
          socket.on('data', (chunk) => {
            text += chunk.toString();
          });
          socket.on('close', () => resolve(text));
          socket.on('error', reject);
        })
        .catch(reject);
    });
    expect(response.startsWith('HTTP/1.1 404')).toBe(true);
  });
  it('answers 503 past the cap of sockets still in their handshake, and admits again after', async () => {
    const capped = await startGatewayServer(current().db, { maxPendingHandshakes: 2 });
    try {
      const silent = [await openSocket(capped.url), await openSocket(capped.url)];
      const refused = await openSocket(capped.url).then(
        () => 'opened',
        (error: Error) => error.message,
      );
      expect(refused).toContain('503');
      // One of them authenticates: the handshake slot frees up.
      const first = silent[0];
      if (first === undefined) throw new Error('no socket');
      first.sendFrame(createHelloFrame(device.deviceId, device.identity, await challengeOf(first)));
      await silent[0]?.next((frame) => frame.kind === 'welcome');
      const admitted = await openSocket(capped.url);
      expect(admitted.socket.readyState).toBe(admitted.socket.OPEN);
      for (const client of [...silent, admitted]) await client?.close();
      expect(capped.errors).toEqual([]);
    } finally {
      await capped.close();
    }
  });
});
