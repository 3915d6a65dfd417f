// Durable commands over real sockets: live delivery sealed to the device, delivery on connect,
// redelivery while unacked, failure after the last attempt, and acks recorded once.
import { type Command, commandSchema, type RealtimeFrame } from '@fieldline/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type GatewayServer, startGatewayServer } from '../support/gateway-server.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, OPERATOR_TOKEN } from '../support/test-server.js';
import { connectDevice, type EnrolledDevice, enrollDevice } from '../support/ws-device.js';

type CommandFrame = Extract<RealtimeFrame, { kind: 'command' }>;

describeEachDatabase('realtime gateway: commands', (current) => {
  let server: GatewayServer;

  beforeAll(async () => {
    server = await startGatewayServer(current().db, {
      redeliveryIntervalMs: 100,
      commands: { ackTimeoutMs: 300, maxAttempts: 3 },
    });
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  const postCommand = async (device: EnrolledDevice, type: string, body?: unknown) => {
    const created = await call(`${server.url}/v1/admin/devices/${device.deviceId}/commands`, {
      token: OPERATOR_TOKEN,
      body: { type, ...(body === undefined ? {} : { body }) },
    });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  const record = async (id: string) =>
    (await call(`${server.url}/v1/admin/commands/${id}`, { token: OPERATOR_TOKEN })).body;
  const commandFrames = (frames: RealtimeFrame[], id: string) =>
    frames.filter((frame): frame is CommandFrame => frame.kind === 'command' && frame.id === id);

  it('delivers a new command live, boxed in the session, and records the ack', async () => {
    const device = await enrollDevice(server.url);
    const { client } = await connectDevice(server.url, device);
    const id = await postCommand(device, 'deploy', { version: '1.2.3' });
    const frame = await client.next((f): f is CommandFrame => f.kind === 'command' && f.id === id);
    const command: Command = commandSchema.parse(await client.payloadOf(frame));
    expect(command).toMatchObject({ id, type: 'deploy', body: { version: '1.2.3' } });
    expect(await record(id)).toMatchObject({ status: 'sent', attempts: 1 });
    client.sendFrame({ kind: 'ack', id, status: 'acked' });
    await expect.poll(async () => (await record(id)).status).toBe('acked');
    // Acked: no redelivery, however long we wait.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(commandFrames(client.frames, id)).toHaveLength(1);
    await client.close();
  });

  it('delivers commands created while offline at connect, and records a rejection', async () => {
    const device = await enrollDevice(server.url);
    const first = await postCommand(device, 'ping');
    const second = await postCommand(device, 'reboot');
    expect(await record(first)).toMatchObject({ status: 'pending', attempts: 0 });
    const { client } = await connectDevice(server.url, device);
    await client.next((f) => f.kind === 'command' && f.id === second);
    const delivered = client.frames.filter((f): f is CommandFrame => f.kind === 'command');
    expect(delivered.map((f) => f.id)).toEqual([first, second]);
    client.sendFrame({ kind: 'ack', id: first, status: 'acked' });
    client.sendFrame({ kind: 'ack', id: second, status: 'rejected', reason: 'unknown_command' });
    await expect.poll(async () => (await record(second)).status).toBe('rejected');
    expect(await record(second)).toMatchObject({ reason: 'unknown_command' });
    expect(await record(first)).toMatchObject({ status: 'acked' });
    await client.close();
  });

  it('redelivers an unacked command until its attempts run out, then marks it failed', async () => {
    const device = await enrollDevice(server.url);
    const { client } = await connectDevice(server.url, device);
    const id = await postCommand(device, 'ping');
    await expect.poll(() => commandFrames(client.frames, id).length, { timeout: 5_000 }).toBe(3);
    await expect.poll(async () => (await record(id)).status, { timeout: 5_000 }).toBe('failed');
    expect(await record(id)).toMatchObject({ attempts: 3 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(commandFrames(client.frames, id)).toHaveLength(3);
    // A late ack of a delivered command is recorded: the device did run it.
    client.sendFrame({ kind: 'ack', id, status: 'acked' });
    await expect.poll(async () => (await record(id)).status).toBe('acked');
    expect(await record(id)).toMatchObject({ attempts: 3 });
    await client.close();
  });

  it('ignores an ack for another device’s command', async () => {
    const owner = await enrollDevice(server.url);
    const intruder = await enrollDevice(server.url);
    const id = await postCommand(owner, 'ping');
    const { client } = await connectDevice(server.url, intruder);
    client.sendFrame({ kind: 'ack', id, status: 'acked' });
    client.sendFrame({ kind: 'heartbeat', ts: Date.now() });
    await client.next((f) => f.kind === 'heartbeat');
    expect(await record(id)).toMatchObject({ status: 'pending' });
    await client.close();
  });
});
