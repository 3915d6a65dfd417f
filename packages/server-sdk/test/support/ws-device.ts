// An enrolled device speaking the real-time protocol over a real socket, for gateway tests:
// it records every frame and close, seals channel bodies and opens the server's boxes like an
// agent would.
import { randomUUID } from 'node:crypto';
import {
  acceptSessionOffer,
  commandBoxAad,
  createHelloFrame,
  encodeBase64Url,
  generateIdentity,
  type Identity,
  messageBoxAad,
  publicKeysOf,
  type RealtimeFrame,
  SealKind,
  type SessionOpener,
  sealJson,
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
  /**
   * Starts opening the server's boxes (in arrival order, as a device must) with the session
   * of this connection's welcome.
   */
  useSession(opener: SessionOpener): void;
  /** The opened body of a command or message frame from the server (after useSession). */
  payloadOf(frame: RealtimeFrame): Promise<unknown>;
  close(): Promise<void>;
}

function boxAad(frame: RealtimeFrame): Uint8Array | undefined {
  if (frame.kind === 'command') return commandBoxAad(frame.id);
  if (frame.kind === 'message' && frame.box !== undefined) return messageBoxAad(frame);
  return undefined;
}

/** Opens a socket to the gateway (without sending anything). */
export async function openSocket(baseUrl: string): Promise<SocketClient> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws`);
  const frames: RealtimeFrame[] = [];
  const waiters: Array<() => void> = [];
  // Keyed by kind and id, so a frame parsed again by another listener finds its payload too.
  const payloads = new Map<string, Promise<unknown>>();
  const keyOf = (frame: RealtimeFrame) => `${frame.kind}:${'id' in frame ? frame.id : ''}`;
  let opener: SessionOpener | undefined;
  const openBox = (frame: RealtimeFrame): void => {
    const aad = boxAad(frame);
    if (opener === undefined || aad === undefined || !('box' in frame)) return;
    const opened = opener.open(frame.box as string, aad).then((result) => {
      if (!result.ok) throw new Error(`cannot open the server's box: ${result.error.code}`);
      return JSON.parse(new TextDecoder().decode(result.value)) as unknown;
    });
    opened.catch(() => undefined);
    payloads.set(keyOf(frame), opened);
  };
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as RealtimeFrame;
    frames.push(frame);
    openBox(frame);
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
    useSession(session) {
      opener = session;
      for (const frame of frames) openBox(frame);
    },
    payloadOf(frame) {
      const payload = payloads.get(keyOf(frame));
      if (payload === undefined) throw new Error('not a box frame, or no session in use');
      return payload;
    },
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close(1000);
      await closed;
    },
  };
}

/** Waits for the server's first frame on a socket and returns the connection's challenge. */
export async function challengeOf(client: SocketClient): Promise<string> {
  const frame = await client.next(
    (candidate): candidate is Extract<RealtimeFrame, { kind: 'challenge' }> =>
      candidate.kind === 'challenge',
  );
  return frame.challenge;
}

/** Opens a socket and completes a signed hello; returns the client and its welcome. */
export async function connectDevice(baseUrl: string, device: EnrolledDevice) {
  const client = await openSocket(baseUrl);
  const hello = createHelloFrame(device.deviceId, device.identity, await challengeOf(client));
  client.sendFrame(hello);
  const welcome = await client.next(
    (frame): frame is Extract<RealtimeFrame, { kind: 'welcome' }> => frame.kind === 'welcome',
  );
  acceptSession(client, device, hello.nonce, welcome);
  return { client, welcome };
}

/** Checks a welcome's session offer and starts opening the connection's boxes with it. */
export function acceptSession(
  client: SocketClient,
  device: EnrolledDevice,
  nonce: string,
  welcome: Extract<RealtimeFrame, { kind: 'welcome' }>,
): void {
  const opener = acceptSessionOffer({
    device: device.identity,
    deviceId: device.deviceId,
    nonce,
    offer: welcome.session,
    serverSigningPublicKey: device.serverSigningKey,
  });
  if (!opener.ok) throw new Error(`the welcome's session was refused: ${opener.error.code}`);
  client.useSession(opener.value);
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
