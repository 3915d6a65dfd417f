// Issue 11 point 8, over a real socket: creating commands must not redeliver (and count again)
// the ones still waiting for their ack. A command goes again only when its ack timeout passed
// (driven here by the injected clock) or on a new session, and a late ack is still recorded.
import type { RealtimeFrame } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  createRealtimeGateway,
  type RealtimeGateway,
} from '../../src/realtime/create-realtime-gateway.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, OPERATOR_TOKEN, startTestServer, type TestServer } from '../support/test-server.js';
import { connectDevice, type EnrolledDevice, enrollDevice } from '../support/ws-device.js';

type CommandFrame = Extract<RealtimeFrame, { kind: 'command' }>;

const ACK_TIMEOUT_MS = 30_000;

describeEachDatabase('realtime gateway: redelivery waits for the ack timeout', (current) => {
  // The hello's timestamp is the device's real clock, so the fake one starts there.
  const clock = createFakeClock({ nowMs: Date.now() });
  let server: TestServer;
  let gateway: RealtimeGateway;

  beforeAll(async () => {
    server = await startTestServer(current().db, {
      clock,
      commands: { ackTimeoutMs: ACK_TIMEOUT_MS, maxAttempts: 3 },
    });
    // The redelivery check runs often; only the clock decides what is due.
    gateway = createRealtimeGateway(server.app, { redeliveryIntervalMs: 50 });
    gateway.on('error', (error) => server.errors.push(error));
    gateway.attach(server.server);
  });
  // Each test starts near real time again: its hello must pass the server's skew check.
  beforeEach(() => clock.set(Date.now()));
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await gateway.close();
    await server.close();
  });

  const postCommand = async (device: EnrolledDevice, type: string) => {
    const created = await call(`${server.url}/v1/admin/devices/${device.deviceId}/commands`, {
      token: OPERATOR_TOKEN,
      body: { type },
    });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  const record = async (id: string) =>
    (await call(`${server.url}/v1/admin/commands/${id}`, { token: OPERATOR_TOKEN })).body;
  const framesOf = (frames: RealtimeFrame[], id: string) =>
    frames.filter((frame): frame is CommandFrame => frame.kind === 'command' && frame.id === id);
  // A heartbeat round trip: every frame the server sent before its answer has arrived.
  const roundTrip = async (client: Awaited<ReturnType<typeof connectDevice>>['client']) => {
    const before = client.frames.length;
    client.sendFrame({ kind: 'heartbeat', ts: Date.now() });
    await client.next(
      (frame) => frame.kind === 'heartbeat' && client.frames.indexOf(frame) >= before,
    );
  };

  it('keeps an unacked command at one attempt while others are created, until its ack timeout', async () => {
    const device = await enrollDevice(server.url);
    const { client } = await connectDevice(server.url, device);
    const first = await postCommand(device, 'first');
    await client.next((frame) => frame.kind === 'command' && frame.id === first);
    expect(await record(first)).toMatchObject({ status: 'sent', attempts: 1 });

    // Three more, quickly: each is delivered once, and none drags the first one along.
    const others = [];
    for (const type of ['second', 'third', 'fourth']) others.push(await postCommand(device, type));
    for (const id of others) {
      await client.next((frame) => frame.kind === 'command' && frame.id === id);
    }
    // Several redelivery checks run meanwhile (every 50 ms); the clock has not moved.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await roundTrip(client);
    expect(framesOf(client.frames, first)).toHaveLength(1);
    expect(await record(first)).toMatchObject({ status: 'sent', attempts: 1 });
    for (const id of others) {
      expect(framesOf(client.frames, id)).toHaveLength(1);
      expect(await record(id)).toMatchObject({ status: 'sent', attempts: 1 });
    }

    // Just short of the timeout: still not due.
    clock.advance(ACK_TIMEOUT_MS - 1000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await roundTrip(client);
    expect(framesOf(client.frames, first)).toHaveLength(1);

    // Past it: the first goes once more (and the others, unacked too, with it).
    clock.advance(1000);
    await expect.poll(() => framesOf(client.frames, first).length, { timeout: 5_000 }).toBe(2);
    expect(await record(first)).toMatchObject({ status: 'sent', attempts: 2 });

    // The device's ack, after all that, is recorded.
    client.sendFrame({ kind: 'ack', id: first, status: 'acked' });
    await expect.poll(async () => (await record(first)).status).toBe('acked');
    expect(await record(first)).toMatchObject({ attempts: 2 });
    for (const id of others) client.sendFrame({ kind: 'ack', id, status: 'acked' });
    await client.close();
  });

  it('records a late ack of a command the server already marked failed', async () => {
    const device = await enrollDevice(server.url);
    const { client } = await connectDevice(server.url, device);
    const id = await postCommand(device, 'slow');
    for (let delivery = 2; delivery <= 3; delivery += 1) {
      clock.advance(ACK_TIMEOUT_MS);
      await expect
        .poll(() => framesOf(client.frames, id).length, { timeout: 5_000 })
        .toBe(delivery);
    }
    clock.advance(ACK_TIMEOUT_MS);
    await expect.poll(async () => (await record(id)).status, { timeout: 5_000 }).toBe('failed');
    expect(await record(id)).toMatchObject({ attempts: 3 });
    // The device did run it: its answer replaces the server's giving up.
    client.sendFrame({ kind: 'ack', id, status: 'acked' });
    await expect.poll(async () => (await record(id)).status).toBe('acked');
    // The first answer stays: a second one changes nothing.
    client.sendFrame({ kind: 'ack', id, status: 'rejected', reason: 'changed my mind' });
    await roundTrip(client);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await record(id)).toMatchObject({ status: 'acked', attempts: 3, reason: null });
    await client.close();
  });

  it('redelivers every unacked command on a new session, counting each delivery once', async () => {
    const device = await enrollDevice(server.url);
    const first = await connectDevice(server.url, device);
    const id = await postCommand(device, 'reconnect');
    await first.client.next((frame) => frame.kind === 'command' && frame.id === id);
    await first.client.close();
    const second = await connectDevice(server.url, device);
    await second.client.next((frame) => frame.kind === 'command' && frame.id === id);
    expect(await record(id)).toMatchObject({ status: 'sent', attempts: 2 });
    second.client.sendFrame({ kind: 'ack', id, status: 'acked' });
    await expect.poll(async () => (await record(id)).status).toBe('acked');
    await second.client.close();
  });
});
