// One connection's outbound order over a real socket: boxes wait for the welcome and leave in
// the order they were sealed, so the device's count of boxes matches the server's.
import {
  acceptSessionOffer,
  commandBoxAad,
  createSessionSealer,
  generateIdentity,
  publicKeysOf,
} from '@fieldline/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { DeviceConnection } from '../../src/realtime/device-connection.js';

const limits = { maxBufferedBytes: 1 << 20, messagesPerSecond: 100, messageBurst: 200 };

describe('DeviceConnection', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function pair() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const address = wss.address();
    if (typeof address === 'string' || address === null) throw new Error('no port');
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${address.port}`);
    const received: Array<{ kind: string; id?: string; box?: string }> = [];
    client.on('message', (data) => received.push(JSON.parse(data.toString())));
    await new Promise<void>((resolve) => client.once('open', () => resolve()));
    const serverSide = await accepted;
    cleanups.push(() => {
      client.terminate();
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    });
    return { serverSide, received };
  }

  it('holds boxes until the welcome is out, then sends them in seal order', async () => {
    const { serverSide, received } = await pair();
    const server = await generateIdentity();
    const device = await generateIdentity();
    const nonce = 'bm9uY2Utbm9uY2Utbm9uY2U';
    const session = await createSessionSealer({
      server,
      deviceId: 'dev_1',
      nonce,
      deviceEncryptionPublicKey: publicKeysOf(device).encryptionPublicKey,
    });
    const connection = new DeviceConnection('c1', 'C'.repeat(43), serverSide, Date.now(), limits);
    connection.session = session.sealer;
    // A large body first, then small ones: sealing takes longer for the first.
    const bodies = ['x'.repeat(300_000), 'a', 'b'];
    const sends = bodies.map((body, index) =>
      connection.sendBoxed(new TextEncoder().encode(body), commandBoxAad(`c${index}`), (box) => ({
        kind: 'command',
        id: `c${index}`,
        box,
      })),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toEqual([]);
    connection.send({ kind: 'welcome' });
    connection.openOutbound();
    expect(await Promise.all(sends)).toEqual([true, true, true]);
    await expect.poll(() => received.length).toBe(4);
    expect(received.map((frame) => frame.id ?? frame.kind)).toEqual(['welcome', 'c0', 'c1', 'c2']);
    const opener = acceptSessionOffer({
      device,
      deviceId: 'dev_1',
      nonce,
      offer: session.offer,
      serverSigningPublicKey: publicKeysOf(server).signingPublicKey,
    });
    if (!opener.ok) throw opener.error;
    const opened = await Promise.all(
      received
        .slice(1)
        .map((frame) => opener.value.open(frame.box as string, commandBoxAad(frame.id as string))),
    );
    expect(
      opened.map((result) => (result.ok ? new TextDecoder().decode(result.value) : '✗')),
    ).toEqual(bodies);
  });

  it('answers false for boxes once closed, and never leaves them waiting', async () => {
    const { serverSide } = await pair();
    const server = await generateIdentity();
    const device = await generateIdentity();
    const session = await createSessionSealer({
      server,
      deviceId: 'dev_2',
      nonce: 'bm9uY2Utbm9uY2Utbm9uY2U',
      deviceEncryptionPublicKey: publicKeysOf(device).encryptionPublicKey,
    });
    const connection = new DeviceConnection('c2', 'C'.repeat(43), serverSide, Date.now(), limits);
    connection.session = session.sealer;
    const pending = connection.sendBoxed(new Uint8Array(1), commandBoxAad('c0'), (box) => ({
      kind: 'command',
      id: 'c0',
      box,
    }));
    connection.close(1001, 'going_away');
    expect(await pending).toBe(false);
    expect(
      await connection.sendBoxed(new Uint8Array(1), commandBoxAad('c1'), (box) => ({ box })),
    ).toBe(false);
  });
});
