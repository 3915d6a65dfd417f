// Issue 11 point 3 from outside: a wiretap between a real agent and the real reference server
// records the agent's hello and resume frames; replayed on connections of their own, each is
// refused with a coded close, while the agent stays connected and keeps running (and acking) its
// commands. An ack from a socket that never authenticated is refused too.
import { rmSync } from 'node:fs';
import type { RealtimeFrame } from '@fieldline/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type Agent, createAgent } from '../../src/agent.js';
import { realtimeUrl } from '../../src/realtime/agent-realtime.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
) {
  return vi.waitUntil(probe, { timeout: 10_000, interval: 20 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

/**
 * A man in the middle on ws://: relays every frame both ways unchanged and records the first
 * frame each client sent (its hello or resume). `cut()` drops the client's live connection, so
 * it reconnects (and resumes).
 */
async function startWiretap(upstream: string) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const firstFrames: RealtimeFrame[] = [];
  const live = new Set<WebSocket>();
  wss.on('connection', (client) => {
    live.add(client);
    const server = new WebSocket(upstream);
    const queued: string[] = [];
    let first = true;
    client.on('message', (data) => {
      const text = data.toString();
      if (first) firstFrames.push(JSON.parse(text) as RealtimeFrame);
      first = false;
      if (server.readyState === WebSocket.OPEN) server.send(text);
      else queued.push(text);
    });
    server.on('open', () => {
      for (const text of queued.splice(0)) server.send(text);
    });
    server.on('message', (data) => client.send(data.toString()));
    const end = () => {
      live.delete(client);
      client.terminate();
      server.terminate();
    };
    client.on('close', end);
    server.on('close', end);
    client.on('error', () => undefined);
    server.on('error', () => undefined);
  });
  const address = wss.address();
  if (typeof address === 'string' || address === null) throw new Error('no port');
  return {
    url: `ws://127.0.0.1:${address.port}/v1/ws`,
    firstFrames,
    cut() {
      for (const client of live) client.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Opens a socket straight to the server, as an attacker would, and sends `frame` once asked. */
async function sendOnFreshSocket(server: TestBackend, frame: unknown) {
  const socket = new WebSocket(realtimeUrl(server.url));
  const received: RealtimeFrame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('error', () => undefined);
  socket.on('message', (data) => {
    const parsed = JSON.parse(data.toString()) as RealtimeFrame;
    received.push(parsed);
    if (parsed.kind === 'challenge') socket.send(JSON.stringify(frame));
  });
  return { received, closed: await closed };
}

describe('a recorded hello or resume replayed on another connection', () => {
  let server: TestBackend;
  let tap: Awaited<ReturnType<typeof startWiretap>>;
  let agent: Agent;
  let deviceId: string;
  let stateDir: string;
  const handled: string[] = [];

  beforeAll(async () => {
    server = await startBackend();
    tap = await startWiretap(realtimeUrl(server.url));
    stateDir = tempStateDir();
    agent = await createAgent({
      stateDir,
      realtime: { url: tap.url, backoff: { baseMs: 20, capMs: 200 } },
    });
    ({ deviceId } = await agent.enroll({
      serverUrl: server.url,
      installToken: await server.installToken(),
    }));
    agent.onCommand('deploy', (command) => {
      handled.push(command.id);
    });
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'the first welcome');
    // A dropped line: the agent reconnects through the tap with a resume of its session.
    tap.cut();
    await waitFor(() => tap.firstFrames.some((frame) => frame.kind === 'resume'), 'a resume');
    await waitFor(() => agent.status().realtime.state === 'ready', 'the resumed welcome');
  });
  afterAll(async () => {
    await agent.shutdown({ timeoutMs: 1_000 });
    await tap.close();
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const recorded = (kind: 'hello' | 'resume') => {
    const frame = tap.firstFrames.find((candidate) => candidate.kind === kind);
    if (frame === undefined) throw new Error(`no ${kind} recorded`);
    return frame;
  };

  const commandStatus = async (id: string) =>
    (await server.admin(`/v1/admin/commands/${id}`)).body.status as string;

  it.each(['hello', 'resume'] as const)(
    'refuses the replayed %s, 3 of 3 times, with 4401',
    async (kind) => {
      const frame = recorded(kind);
      for (let attempt = 0; attempt < 3; attempt++) {
        const { received, closed } = await sendOnFreshSocket(server, frame);
        expect(closed).toEqual({ code: 4401, reason: 'bad_signature' });
        expect(received.map((candidate) => candidate.kind)).toEqual(['challenge', 'error']);
      }
      // The real device was never replaced: still ready, online, and served its commands.
      expect(agent.status().realtime.state).toBe('ready');
      expect(agent.status().realtime.lastCloseCode).not.toBe(4000);
      const detail = await server.admin(`/v1/admin/devices/${deviceId}`);
      expect(detail.body).toMatchObject({ online: true });
      const created = await server.admin(`/v1/admin/devices/${deviceId}/commands`, {
        type: 'deploy',
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      await waitFor(async () => (await commandStatus(id)) === 'acked', `${kind}: command acked`);
      expect(handled).toContain(id);
    },
  );

  it('refuses the recorded session token alone, even with a fresh nonce', async () => {
    const { sig: _sig, ...unsigned } = recorded('resume') as Extract<
      RealtimeFrame,
      { kind: 'resume' }
    >;
    const { closed } = await sendOnFreshSocket(server, { ...unsigned, nonce: 'A'.repeat(22) });
    expect(closed.code).toBe(4400);
  });

  it('refuses an ack from a socket that never authenticated, and the command stays open', async () => {
    const otherDir = tempStateDir();
    const offline = await createAgent({ stateDir: otherDir });
    const other = await offline.enroll({
      serverUrl: server.url,
      installToken: await server.installToken(),
    });
    await offline.shutdown({ timeoutMs: 500 });
    rmSync(otherDir, { recursive: true, force: true });
    const created = await server.admin(`/v1/admin/devices/${other.deviceId}/commands`, {
      type: 'deploy',
    });
    const id = created.body.id as string;
    const { received, closed } = await sendOnFreshSocket(server, {
      kind: 'ack',
      id,
      status: 'acked',
    });
    expect(closed).toEqual({ code: 4400, reason: 'invalid_frame' });
    expect(received.at(-1)).toMatchObject({ kind: 'error', code: 'invalid_frame' });
    expect(await commandStatus(id)).toBe('pending');
  });
});
