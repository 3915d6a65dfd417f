// Heartbeats and presence over real sockets with short timings: pings keep a live device
// online and its last_seen fresh, silence takes it offline with 4001, and shutdown says 1001.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUS_TOPICS } from '../../src/cluster/cluster-bus.js';
import type { ConnectionClosed } from '../../src/realtime/create-realtime-gateway.js';
import { type GatewayServer, startGatewayServer } from '../support/gateway-server.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { connectDevice, type EnrolledDevice, enrollDevice } from '../support/ws-device.js';

describeEachDatabase('realtime gateway: liveness and presence', (current) => {
  let server: GatewayServer;
  let device: EnrolledDevice;
  const adminEvents: unknown[] = [];

  beforeAll(async () => {
    server = await startGatewayServer(current().db, {
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 400,
      redeliveryIntervalMs: 50,
      expirySweepIntervalMs: 100,
    });
    server.app.context.bus.subscribe(BUS_TOPICS.adminEvents, (payload) =>
      adminEvents.push(payload),
    );
    device = await enrollDevice(server.url);
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  const lastSeen = async () =>
    (
      await current()
        .db.selectFrom('devices')
        .select(['last_seen_at'])
        .where('id', '=', device.deviceId)
        .executeTakeFirstOrThrow()
    ).last_seen_at?.getTime() ?? 0;

  it('keeps an answering device online, refreshing last_seen, and announces it on the bus', async () => {
    const { client, welcome } = await connectDevice(server.url, device);
    expect(welcome).toMatchObject({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 });
    const pings: number[] = [];
    client.socket.on('ping', () => pings.push(Date.now()));
    const connectedSeen = await lastSeen();
    // Waits for pings rather than a fixed time: on a loaded machine PGlite's work in this
    // process can hold the event loop for longer than a few ping intervals.
    await expect.poll(() => pings.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    expect(server.gateway.isConnected(device.deviceId)).toBe(true);
    expect(await lastSeen()).toBeGreaterThan(connectedSeen);
    expect(adminEvents).toContainEqual({
      event: 'presence',
      data: expect.objectContaining({ deviceId: device.deviceId, tenantId: 'acme', online: true }),
    });
    await client.close();
  });

  it('closes a silent device with 4001, marks it offline, and keeps last_seen at its last frame', async () => {
    const closes: Array<ConnectionClosed & { at: number }> = [];
    server.gateway.on('closed', (closed) => closes.push({ ...closed, at: Date.now() }));
    const { client } = await connectDevice(server.url, device);
    // A paused socket neither reads pings nor answers them: the device looks dead.
    (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    await expect
      .poll(() => server.gateway.isConnected(device.deviceId), { timeout: 3_000 })
      .toBe(false);
    await expect
      .poll(() => adminEvents.at(-1), { timeout: 3_000 })
      .toMatchObject({ event: 'presence', data: { deviceId: device.deviceId, online: false } });
    const row = await current()
      .db.selectFrom('devices')
      .select(['connected_at'])
      .where('id', '=', device.deviceId)
      .executeTakeFirstOrThrow();
    expect(row.connected_at).toBeNull();
    // The close is the one the server sent, though the paused peer never answered it.
    const closed = closes.find((entry) => entry.deviceId === device.deviceId);
    expect(closed).toMatchObject({ code: 4001, initiator: 'server' });
    // last_seen is when the device was last heard from, not when the server gave up on it.
    expect((closed?.at ?? 0) - (await lastSeen())).toBeGreaterThan(400);
    client.socket.terminate();
  });

  it('deletes expired sessions in its periodic sweep and keeps live ones', async () => {
    const { client } = await connectDevice(server.url, device);
    await current()
      .db.insertInto('sessions')
      .values({
        id: 'session_expired_for_test',
        device_id: device.deviceId,
        token_hash: 'f'.repeat(64),
        expires_at: new Date(Date.now() - 1_000),
      })
      .execute();
    const sessionIds = async () =>
      (await current().db.selectFrom('sessions').select('id').execute()).map((row) => row.id);
    await expect
      .poll(async () => (await sessionIds()).includes('session_expired_for_test'), {
        timeout: 3_000,
      })
      .toBe(false);
    expect((await sessionIds()).length).toBeGreaterThan(0);
    await client.close();
  });

  it('says 1001 (going away) to every device on shutdown and releases their presence', async () => {
    const own = await startGatewayServer(current().db);
    const other = await enrollDevice(own.url);
    const { client } = await connectDevice(own.url, other);
    await own.close();
    expect(await client.closed).toEqual({ code: 1001, reason: 'server_shutdown' });
    const row = await current()
      .db.selectFrom('devices')
      .select(['connected_at', 'connected_instance'])
      .where('id', '=', other.deviceId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ connected_at: null, connected_instance: null });
    expect(own.errors).toEqual([]);
  });
});
