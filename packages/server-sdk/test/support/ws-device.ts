// An enrolled device speaking the real-time protocol over a real socket, for gateway tests:
// it records every frame and close, and seals/opens channel bodies like an agent would.
import { randomUUID } from 'node:crypto';
import {
  createHelloFrame,
  createMemoryReplayGuard,
  decodeBase64Url,
  encodeBase64Url,
  generateIdentity,
  type Identity,
  openJson,
  publicKeysOf,
  type RealtimeFrame,
  SealKind,
  sealJson,
  systemClock,
} from '@fieldline/core';
import WebSocket from 'ws';
import { call, OPERATOR_TOKEN } from './test-server.js';

export interface EnrolledDevice {
  readonly identity: Identity;
  readonly deviceId: string;
  readonly deviceToken: string;
  readonly serverEncryptionKey: string;
  readonly serverSigningKey: string;
}

/** Enrolls a new device of `tenant` through the HTTP API. */
export async function enrollDevice(baseUrl: string, tenant = 'acme'): Promise<EnrolledDevice> {
  const install = await call(`${baseUrl}/v1/admin/install-tokens`, {
    token: OPERATOR_TOKEN,
    body: { tenant },
  });
  const identity = await generateIdentity();
  const enrolled = await call(`${baseUrl}/v1/enroll`, {
    token: install.body.token,
    body: { hostname: 'ws-test', os: 'linux', arch: 'x64', publicKeys: publicKeysOf(identity) },
  });
  if (enrolled.status !== 201 && enrolled.status !== 200) {
    throw new Error(`enrollment failed: ${JSON.stringify(enrolled.body)}`);
  }
  return {
    identity,
    deviceId: enrolled.body.deviceId,
    deviceToken: enrolled.body.deviceToken,
    serverEncryptionKey: enrolled.body.serverPublicKeys.encryptionPublicKey,
    serverSigningKey: enrolled.body.serverPublicKeys.signingPublicKey,
  };
}

export interface SocketClient {
  readonly socket: WebSocket;
  readonly frames: RealtimeFrame[];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  sendFrame(frame: unknown): void;
  /** Waits for the first recorded frame (from the start) matching `test`. */
  next<T extends RealtimeFrame>(
    test: (frame: RealtimeFrame) => frame is T,
    ms?: number,
  ): Promise<T>;
  next(test: (frame: RealtimeFrame) => boolean, ms?: number): Promise<RealtimeFrame>;
  close(): Promise<void>;
}

/** Opens a socket to the gateway (without sending anything). */
export async function openSocket(baseUrl: string): Promise<SocketClient> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws`);
  const frames: RealtimeFrame[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as RealtimeFrame);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const next = (test: (frame: RealtimeFrame) => boolean, ms = 5_000): Promise<RealtimeFrame> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`no matching frame in ${ms} ms; got ${JSON.stringify(frames)}`)),
        ms,
      );
      const check = () => {
        const found = frames.find(test);
        if (found !== undefined) {
          clearTimeout(deadline);
          resolve(found);
          return;
        }
        waiters.push(check);
      };
      check();
    });
  return {
    socket,
    frames,
    closed,
    sendFrame: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: next as SocketClient['next'],
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close(1000);
      await closed;
    },
  };
}

/** Opens a socket and completes a signed hello; returns the client and its welcome. */
export async function connectDevice(baseUrl: string, device: EnrolledDevice) {
  const client = await openSocket(baseUrl);
  client.sendFrame(createHelloFrame(device.deviceId, device.identity));
  const welcome = await client.next(
    (frame): frame is Extract<RealtimeFrame, { kind: 'welcome' }> => frame.kind === 'welcome',
  );
  return { client, welcome };
}

/** Seals a channel body from the device to the server (kind 2 unless given). */
export async function sealFromDevice(
  device: EnrolledDevice,
  payload: unknown,
  kind: number = SealKind.ChannelMessage,
): Promise<string> {
  return encodeBase64Url(
    await sealJson({
      kind,
      senderId: device.deviceId,
      messageId: randomUUID(),
      timestampMs: Date.now(),
      payload,
      recipientEncryptionPublicKey: device.serverEncryptionKey,
      sender: device.identity,
    }),
  );
}

const deviceReplayGuard = createMemoryReplayGuard({ clock: systemClock, windowMs: 120_000 });

/** Opens a sealed body the server sent to the device. */
export async function openFromServer(device: EnrolledDevice, sealed: string) {
  const bytes = decodeBase64Url(sealed);
  if (!bytes.ok) throw new Error('not base64url');
  const opened = await openJson(bytes.value, {
    recipient: device.identity,
    senderSigningPublicKey: device.serverSigningKey,
    clock: systemClock,
    replayGuard: deviceReplayGuard,
  });
  if (!opened.ok) throw new Error(`cannot open the server's frame: ${opened.error.code}`);
  return opened.value;
}
