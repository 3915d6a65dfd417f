// Channel messages over real sockets: sealed request/response both ways, events ingested
// through the same pipeline as HTTP, and the limits that protect the server from one client.
import { randomUUID } from 'node:crypto';
import { type RealtimeFrame, SealKind } from '@fieldline/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RealtimeRequestError } from '../../src/realtime/realtime-errors.js';
import { type GatewayServer, startGatewayServer } from '../support/gateway-server.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, OPERATOR_TOKEN } from '../support/test-server.js';
import {
  connectDevice,
  type EnrolledDevice,
  enrollDevice,
  sealFromDevice,
} from '../support/ws-device.js';

type MessageFrame = Extract<RealtimeFrame, { kind: 'message' }>;
const isMessage = (frame: RealtimeFrame): frame is MessageFrame => frame.kind === 'message';

function uuidv7(): string {
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

describeEachDatabase('realtime gateway: channels', (current) => {
  let server: GatewayServer;
  let device: EnrolledDevice;

  beforeAll(async () => {
    server = await startGatewayServer(current().db, {
      messagesPerSecond: 20,
      messageBurst: 40,
      maxPayloadBytes: 64 * 1024,
      maxBufferedBytes: 256 * 1024,
    });
    server.gateway.channel('echo', ({ from, type, body }) =>
      type === 'quiet' ? undefined : { from: from.deviceId, type, body },
    );
    device = await enrollDevice(server.url);
    await call(`${server.url}/v1/admin/policies`, {
      token: OPERATOR_TOKEN,
      body: { tenant: 'acme', version: 1, scopes: ['activity'], text: 'Activity.' },
    });
    await call(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
      body: { action: 'grant', scopes: ['activity'] },
    });
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  it('routes a sealed request to its channel handler and boxes the reply in the session', async () => {
    const { client } = await connectDevice(server.url, device);
    const id = randomUUID();
    client.sendFrame({
      kind: 'message',
      id,
      channel: 'echo',
      type: 'hello',
      ts: Date.now(),
      sealed: await sealFromDevice(device, { n: 1 }),
    });
    const reply = await client.next(
      (frame): frame is MessageFrame => isMessage(frame) && frame.replyTo === id,
    );
    expect(reply).toMatchObject({ channel: 'echo', type: 'hello.result' });
    expect(reply.sealed).toBeUndefined();
    expect(await client.payloadOf(reply)).toEqual({
      from: device.deviceId,
      type: 'hello',
      body: { n: 1 },
    });

    // A handler that returns nothing sends nothing back; an unknown channel is an error frame.
    const unknownId = randomUUID();
    client.sendFrame({
      kind: 'message',
      id: randomUUID(),
      channel: 'echo',
      type: 'quiet',
      ts: Date.now(),
      sealed: await sealFromDevice(device, {}),
    });
    client.sendFrame({
      kind: 'message',
      id: unknownId,
      channel: 'nobody',
      type: 'x',
      ts: Date.now(),
      sealed: await sealFromDevice(device, {}),
    });
    expect(
      await client.next((frame) => frame.kind === 'error' && frame.replyTo === unknownId),
    ).toMatchObject({ code: 'unknown_channel' });
    expect(client.frames.filter(isMessage)).toHaveLength(1);
    await client.close();
  });

  it('answers a replayed or foreign-signed body with an error and keeps the connection', async () => {
    const { client } = await connectDevice(server.url, device);
    const other = await enrollDevice(server.url);
    const sealed = await sealFromDevice(device, { n: 2 });
    const first = randomUUID();
    const replayed = randomUUID();
    const foreign = randomUUID();
    client.sendFrame({ kind: 'message', id: first, channel: 'echo', type: 't', ts: 1, sealed });
    client.sendFrame({ kind: 'message', id: replayed, channel: 'echo', type: 't', ts: 1, sealed });
    client.sendFrame({
      kind: 'message',
      id: foreign,
      channel: 'echo',
      type: 't',
      ts: 1,
      sealed: await sealFromDevice(other, { n: 3 }),
    });
    // Messages of one connection are handled concurrently, so either copy may arrive first:
    // exactly one is answered, the other is refused as replayed.
    const copies: string[] = [first, replayed];
    const answered = await client.next(
      (frame) => isMessage(frame) && copies.includes(frame.replyTo ?? ''),
    );
    const refused = await client.next(
      (frame) => frame.kind === 'error' && copies.includes(frame.replyTo ?? ''),
    );
    expect(refused).toMatchObject({ code: 'replayed' });
    expect(refused.kind === 'error' && refused.replyTo).not.toBe(
      isMessage(answered) && answered.replyTo,
    );
    expect(
      await client.next((frame) => frame.kind === 'error' && frame.replyTo === foreign),
    ).toMatchObject({ code: 'bad_signature' });
    client.sendFrame({ kind: 'heartbeat', ts: Date.now() });
    await client.next((frame) => frame.kind === 'heartbeat');
    await client.close();
  });

  it('closes with 4400 a device that sends a box, which only the server may send', async () => {
    const { client } = await connectDevice(server.url, device);
    client.sendFrame({
      kind: 'message',
      id: randomUUID(),
      channel: 'echo',
      type: 't',
      ts: Date.now(),
      box: 'AAAA',
    });
    expect(await client.closed).toEqual({ code: 4400, reason: 'invalid_frame' });
    expect(await client.next((frame) => frame.kind === 'error')).toMatchObject({
      code: 'invalid_frame',
    });
  });

  it('ingests event batches sent over the socket exactly once, with per-event results', async () => {
    const { client } = await connectDevice(server.url, device);
    const events = [
      {
        id: uuidv7(),
        type: 'activity.app.launched',
        occurredAt: new Date().toISOString(),
        seq: 1,
        scope: 'activity',
        data: { app: 'calc' },
      },
      {
        id: uuidv7(),
        type: 'activity.app.launched',
        occurredAt: new Date().toISOString(),
        seq: 2,
        scope: 'activity',
        data: { app: 'calc', surprise: true },
      },
    ];
    const send = async () => {
      const id = randomUUID();
      client.sendFrame({
        kind: 'message',
        id,
        channel: 'events',
        type: 'batch',
        ts: Date.now(),
        sealed: await sealFromDevice(
          device,
          { batchId: randomUUID(), sentAt: new Date().toISOString(), events },
          SealKind.EventBatch,
        ),
      });
      const reply = await client.next(
        (frame): frame is MessageFrame => isMessage(frame) && frame.replyTo === id,
      );
      expect(reply.type).toBe('batch.result');
      return (await client.payloadOf(reply)) as {
        results: Array<{ status: string; code?: string }>;
        consent: { status: string };
      };
    };
    const first = await send();
    expect(first.results.map((result) => result.code ?? result.status)).toEqual([
      'accepted',
      'invalid_event',
    ]);
    expect(first.consent.status).toBe('granted');
    const again = await send();
    expect(again.results[0]?.status).toBe('duplicate');
    const stored = await current()
      .db.selectFrom('events')
      .select(['id'])
      .where('device_id', '=', device.deviceId)
      .execute();
    expect(stored.map((row) => row.id)).toEqual([events[0]?.id]);
    await client.close();
  });

  it('lets the server request an answer from a device, and times out without one', async () => {
    const { client } = await connectDevice(server.url, device);
    client.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as RealtimeFrame;
      if (frame.kind !== 'message' || frame.type !== 'status') return;
      void client.payloadOf(frame).then(async (asked) => {
        client.sendFrame({
          kind: 'message',
          id: randomUUID(),
          channel: frame.channel,
          type: 'status.result',
          ts: Date.now(),
          replyTo: frame.id,
          sealed: await sealFromDevice(device, { asked, ok: true }),
        });
      });
    });
    await expect(
      server.gateway.request(device.deviceId, 'diagnostics', 'status', { verbose: true }),
    ).resolves.toEqual({ asked: { verbose: true }, ok: true });
    const silent = server.gateway.request(
      device.deviceId,
      'diagnostics',
      'ignored',
      {},
      {
        timeoutMs: 200,
      },
    );
    await expect(silent).rejects.toBeInstanceOf(RealtimeRequestError);
    await expect(silent).rejects.toMatchObject({ code: 'request_timeout' });
    await expect(
      server.gateway.request('not-connected', 'diagnostics', 'status', {}),
    ).rejects.toMatchObject({ code: 'not_connected' });
    await client.close();
  });

  it('closes a flooding client with 4003 and an oversized message with 1009', async () => {
    const flood = await connectDevice(server.url, device);
    for (let i = 0; i < 200; i += 1) flood.client.sendFrame({ kind: 'heartbeat', ts: i });
    expect((await flood.client.closed).code).toBe(4003);

    const big = await connectDevice(server.url, device);
    big.client.sendFrame({ kind: 'heartbeat', ts: 1, pad: 'x'.repeat(70 * 1024) });
    expect((await big.client.closed).code).toBe(1009);
  });

  it('drops a client that stops reading with 4002 instead of buffering without bound', async () => {
    const { client } = await connectDevice(server.url, device);
    // Stop reading: the kernel buffers fill, then the server's send buffer grows.
    (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const body = { blob: 'y'.repeat(60 * 1024) };
    let sent = 0;
    while (sent < 500 && (await server.gateway.send(device.deviceId, 'bulk', 'data', body))) {
      sent += 1;
    }
    expect(sent).toBeLessThan(500);
    await expect
      .poll(() => server.gateway.isConnected(device.deviceId), { timeout: 5_000 })
      .toBe(false);
    client.socket.terminate();
  });
});
