// A device and an operator talking to a spawned reference server while its database comes and
// goes: sealed event batches over HTTP, admin calls, the health routes, and a count of what the
// database holds. For the database-outage suites.
import { randomUUID } from 'node:crypto';
import {
  createHelloFrame,
  encodeSealedBody,
  generateIdentity,
  type Identity,
  publicKeysOf,
  SealKind,
  sealJson,
} from '@fieldline/core';
import pg from 'pg';
import WebSocket from 'ws';
import { ADMIN_TOKEN } from './cluster.js';

export interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field.
  readonly body: any;
}

/** One HTTP request; any answer (even a 503) is returned, never thrown. */
export async function request(
  url: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the failure message.
  }
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

/** A UUIDv7 event id with the current time, as agents make them. */
function eventId(): string {
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface HeartbeatEvent {
  readonly id: string;
  readonly type: 'device.heartbeat';
  readonly occurredAt: string;
  readonly seq: number;
  readonly scope: 'operational';
  readonly data: { readonly uptimeMs: number };
}

/** An enrolled device that sends operational events (no consent needed). */
export interface OutageDevice {
  readonly deviceId: string;
  readonly identity: Identity;
  /** Makes `count` new events (not sent). */
  events(count: number): HeartbeatEvent[];
  /** Seals and posts one batch (a fresh frame each call, as an agent's retry is). */
  post(events: readonly HeartbeatEvent[]): Promise<Answer>;
  /** Opens a socket and sends a signed hello; resolves once the first frame or the close came. */
  hello(): Promise<OutageSocket>;
}

/** A device socket: every frame received, and the close code once closed. */
export interface OutageSocket {
  readonly socket: WebSocket;
  // biome-ignore lint/suspicious/noExplicitAny: frames are read field by field.
  readonly frames: any[];
  closeCode: number | undefined;
}

export async function enrollOutageDevice(base: string): Promise<OutageDevice> {
  const install = await request(`${base}/v1/admin/install-tokens`, {
    token: ADMIN_TOKEN,
    body: { tenant: 'default' },
  });
  if (install.status !== 201 && install.status !== 200) {
    throw new Error(`install token: ${install.status} ${JSON.stringify(install.body)}`);
  }
  const identity = await generateIdentity();
  const enrolled = await request(`${base}/v1/enroll`, {
    token: install.body.token,
    body: { hostname: 'outage', os: 'linux', arch: 'x64', publicKeys: publicKeysOf(identity) },
  });
  if (enrolled.status !== 201) {
    throw new Error(`enroll: ${enrolled.status} ${JSON.stringify(enrolled.body)}`);
  }
  const deviceId: string = enrolled.body.deviceId;
  const deviceToken: string = enrolled.body.deviceToken;
  const serverKey: string = enrolled.body.serverPublicKeys.encryptionPublicKey;
  let seq = 0;
  return {
    deviceId,
    identity,
    events(count) {
      return Array.from({ length: count }, () => ({
        id: eventId(),
        type: 'device.heartbeat' as const,
        occurredAt: new Date().toISOString(),
        seq: seq++,
        scope: 'operational' as const,
        data: { uptimeMs: seq },
      }));
    },
    async post(events) {
      const frame = await sealJson({
        kind: SealKind.EventBatch,
        senderId: deviceId,
        messageId: randomUUID(),
        timestampMs: Date.now(),
        payload: { batchId: randomUUID(), sentAt: new Date().toISOString(), events },
        recipientEncryptionPublicKey: serverKey,
        sender: identity,
      });
      return request(`${base}/v1/events`, {
        token: deviceToken,
        body: encodeSealedBody(frame),
      });
    },
    async hello() {
      const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`);
      socket.on('error', () => undefined);
      const client: OutageSocket = { socket, frames: [], closeCode: undefined };
      // The server speaks first: a challenge the hello must sign (protocol §4.2). The answer to
      // the hello is its next frame, or the close. Listeners go on before the socket opens: the
      // challenge can arrive with the upgrade's answer and be emitted right after 'open'.
      let challenge!: (value: string | undefined) => void;
      const challenged = new Promise<string | undefined>((resolve) => {
        challenge = resolve;
      });
      let answered!: () => void;
      const answer = new Promise<void>((resolve) => {
        answered = resolve;
      });
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { kind?: string; challenge?: string };
        if (frame.kind === 'challenge') {
          challenge(frame.challenge);
          return;
        }
        client.frames.push(frame);
        answered();
      });
      socket.once('close', (code) => {
        client.closeCode = code;
        challenge(undefined);
        answered();
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      const challengeText = await challenged;
      if (challengeText !== undefined) {
        socket.send(JSON.stringify(createHelloFrame(deviceId, identity, challengeText)));
      }
      await answer;
      return client;
    },
  };
}

/** Every event id stored for the device, with how many times each is stored. */
export async function storedEventCounts(
  connectionString: string,
  deviceId: string,
): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const result = await client.query<{ id: string; n: string }>(
      'select id, count(*) as n from events where device_id = $1 group by id',
      [deviceId],
    );
    return new Map(result.rows.map((row) => [row.id, Number(row.n)]));
  } finally {
    await client.end();
  }
}

/** Posts a batch until it is stored (200), as an agent retries 503s; returns the 503s seen. */
export async function postUntilStored(
  device: OutageDevice,
  events: readonly HeartbeatEvent[],
  timeoutMs = 20_000,
): Promise<Answer[]> {
  const refusals: Answer[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await device.post(events);
    if (answer.status === 200) return refusals;
    if (answer.status !== 503 || Date.now() > deadline) {
      throw new Error(`events not stored: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    refusals.push(answer);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
