// The agent's real-time side against the real reference server on real sockets and files:
// connect and presence, commands run once and acked, redelivery after a restart answered from
// the ledger, consent withdrawal stopping a collector at once, reconnect after a server
// restart, 4000 replaced, 4403 revoked, HTTP polling while offline, channels both ways.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Agent, type AgentOptions, createAgent } from '../../src/agent.js';
import type { Collector } from '../../src/collector.js';
import { isRealtimeError } from '../../src/realtime/realtime-errors.js';
import type { HandledCommand, RealtimeState } from '../../src/realtime/realtime-types.js';
import { createHttpTransport, type Transport } from '../../src/transport/http-transport.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2, maxElapsedMs: 2_000 };
const FAST_REALTIME = { backoff: { baseMs: 20, capMs: 200 } };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// vitest polls; the wrapper only names what was awaited when it times out.
function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
) {
  return vi.waitUntil(probe, { timeout: timeoutMs, interval: 20 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

/** Waits until the agent's socket is ready. */
function untilReady(agent: Agent) {
  return waitFor(() => agent.status().realtime.state === 'ready', 'ready');
}

/** A temporary directory removed after the test. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function backend(options: { port?: number; dataDir?: string } = {}): Promise<TestBackend> {
  const server = await startBackend(options);
  cleanups.push(() => server.stop());
  return server;
}

async function openAgent(stateDir: string, options: Partial<AgentOptions> = {}): Promise<Agent> {
  const agent = await createAgent({
    stateDir,
    retry: FAST_RETRY,
    realtime: FAST_REALTIME,
    ...options,
  });
  cleanups.push(() => agent.shutdown({ timeoutMs: 500 }).then(() => undefined));
  return agent;
}

async function enrolled(server: TestBackend, options: Partial<AgentOptions> = {}) {
  const stateDir = tempStateDir();
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const agent = await openAgent(stateDir, options);
  const { deviceId } = await agent.enroll({
    serverUrl: server.url,
    installToken: await server.installToken(),
  });
  return { agent, deviceId, stateDir };
}

/** Publishes policy v1 (activity, network) for tenant acme, so devices can be granted. */
async function publishPolicy(server: TestBackend) {
  await server.admin('/v1/admin/policies', {
    tenant: 'acme',
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Policy.',
  });
}

function states(agent: Agent): RealtimeState[] {
  const seen: RealtimeState[] = [];
  agent.on('connection', (change) => seen.push(change.state));
  return seen;
}

async function commandRecord(server: TestBackend, id: string) {
  return (await server.admin(`/v1/admin/commands/${id}`)).body as {
    status: string;
    reason: string | null;
  };
}

async function postCommand(server: TestBackend, deviceId: string, type: string, body?: unknown) {
  const created = await server.admin(`/v1/admin/devices/${deviceId}/commands`, {
    type,
    ...(body === undefined ? {} : { body }),
  });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

describe('agent real time', () => {
  it('connects through connecting/connected/registering to ready, online on the server, and closes on shutdown', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolled(server);
    const seen = states(agent);
    await agent.start();
    await untilReady(agent);
    expect(seen).toEqual(['connecting', 'connected', 'registering', 'ready']);
    expect(server.server.gateway.isConnected(deviceId)).toBe(true);
    const status = agent.status().realtime;
    expect(status.attempts).toBe(0);
    expect(Date.parse(status.sessionExpiresAt ?? '')).toBeGreaterThan(Date.now());

    await agent.shutdown({ timeoutMs: 500 });
    expect(agent.status().realtime.state).toBe('stopped');
    await waitFor(() => !server.server.gateway.isConnected(deviceId), 'server sees the close');
  });

  it('runs an admin command once and acks it; rejects failures and unknown types', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolled(server);
    const runs: Array<{ body: unknown; via: string }> = [];
    agent.onCommand('deploy', (command) => {
      runs.push({ body: command.body, via: command.via });
    });
    agent.onCommand('explode', () => {
      throw new Error('no space left on device');
    });
    const handled: HandledCommand[] = [];
    agent.on('command', (command) => handled.push(command));
    await agent.start();
    await untilReady(agent);

    const deploy = await postCommand(server, deviceId, 'deploy', { version: '1.2.3' });
    const explode = await postCommand(server, deviceId, 'explode');
    const unknown = await postCommand(server, deviceId, 'reboot');
    await waitFor(
      async () => (await commandRecord(server, deploy)).status === 'acked',
      'deploy acked',
    );
    expect(
      await waitFor(async () => {
        const record = await commandRecord(server, explode);
        return record.status === 'rejected' && record;
      }, 'explode rejected'),
    ).toMatchObject({ reason: 'no space left on device' });
    expect(
      await waitFor(async () => {
        const record = await commandRecord(server, unknown);
        return record.status === 'rejected' && record;
      }, 'unknown rejected'),
    ).toMatchObject({ reason: 'unknown_command' });
    // Heartbeats and flushes (HTTP) may deliver it too; it still runs once.
    await agent.heartbeat();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runs).toEqual([{ body: { version: '1.2.3' }, via: 'socket' }]);
    expect(handled.filter((h) => h.id === deploy && !h.duplicate)).toHaveLength(1);
  });

  it('answers a redelivery after a restart from the ledger without running the handler again', async () => {
    const server = await backend();
    const { agent, deviceId, stateDir } = await enrolled(server);
    let runs = 0;
    agent.onCommand('deploy', () => {
      runs++;
    });
    await agent.start();
    await untilReady(agent);
    const id = await postCommand(server, deviceId, 'deploy', { version: '2' });
    await waitFor(async () => (await commandRecord(server, id)).status === 'acked', 'acked');
    await agent.shutdown({ timeoutMs: 500 });

    // As if the ack had been lost: the server still thinks the command is out.
    await server.server.app.context.db
      .updateTable('commands')
      .set({ status: 'sent', acked_at: null, reason: null, attempts: 1 })
      .where('id', '=', id)
      .execute();

    const restarted = await openAgent(stateDir);
    let rerun = 0;
    restarted.onCommand('deploy', () => {
      rerun++;
    });
    const handled: HandledCommand[] = [];
    restarted.on('command', (command) => handled.push(command));
    await restarted.start();
    await waitFor(async () => (await commandRecord(server, id)).status === 'acked', 're-acked');
    await waitFor(() => handled.find((h) => h.id === id), 'the redelivery');
    expect(handled.find((h) => h.id === id)).toMatchObject({
      duplicate: true,
      answer: { status: 'acked' },
    });
    expect(runs).toBe(1);
    expect(rerun).toBe(0);
  });

  // HTTP delivery rounds (every events answer, GET /v1/commands) take only due commands, so a
  // command sent on the socket and still being handled is not counted again by heartbeats.
  it('keeps a command whose handler outlasts a few heartbeats acked, not failed', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolled(server);
    let release: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      release = resolve;
    });
    let runs = 0;
    agent.onCommand('deploy', async () => {
      runs++;
      await running;
    });
    await agent.start();
    await untilReady(agent);
    const id = await postCommand(server, deviceId, 'deploy', { version: 'slow' });
    await waitFor(() => runs === 1, 'the handler to start');
    for (let i = 0; i < 3; i++) await agent.heartbeat();
    release();
    await waitFor(async () => (await commandRecord(server, id)).status !== 'sent', 'settled');
    expect(runs).toBe(1);
    expect((await commandRecord(server, id)).status).toBe('acked');
  });

  it('stops a collector within 1 s of an admin withdrawal and shows withdrawn', async () => {
    const server = await backend();
    await publishPolicy(server);
    let stoppedAt: number | undefined;
    const collector: Collector = {
      name: 'app-activity',
      scope: 'activity',
      support: () => ({ supported: true }),
      start() {
        stoppedAt = undefined;
      },
      stop() {
        stoppedAt = Date.now();
      },
    };
    const { agent, deviceId } = await enrolled(server, { collectors: [collector] });
    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    await untilReady(agent);
    await waitFor(() => agent.status().collectors['app-activity'] === 'running', 'running');

    const withdrawnAt = Date.now();
    const answer = await server.admin(`/v1/admin/devices/${deviceId}/consent`, {
      action: 'withdraw',
    });
    expect(answer.status).toBe(200);
    // No flush or heartbeat runs here: only the pushed consent.withdrawn command can do it.
    await waitFor(() => stoppedAt, 'the collector to stop', 1_000);
    expect((stoppedAt ?? Number.POSITIVE_INFINITY) - withdrawnAt).toBeLessThan(1_000);
    expect(agent.status().consent.status).toBe('withdrawn');
    expect(agent.status().collectors['app-activity']).toBe('stopped');
  });

  it('never sends batches spilled to the spool before a withdrawal pushed over the socket', async () => {
    const server = await backend();
    await publishPolicy(server);
    // A 10-event buffer: 35 events spill three batches to the spool, each also kept in memory
    // for the next flush, and leave 5 queued.
    const { agent, deviceId } = await enrolled(server, { maxQueuedEvents: 10 });
    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    await untilReady(agent);
    await agent.flush();
    for (let i = 0; i < 35; i++) {
      expect(agent.track('activity.app.launched', { app: `spilled-${i}` }).status).toBe('queued');
    }
    await waitFor(() => agent.status().spool.files === 3, 'three spilled batches on disk');

    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'withdraw' });
    await waitFor(() => agent.status().consent.status === 'withdrawn', 'the pushed withdrawal');
    const flushed = await agent.flush();

    // The server accepts events that occurred while consent was granted, so only the agent's
    // purge keeps these back: a copy sent from memory would be delivered and stored.
    expect(flushed).toMatchObject({ delivered: 0, rejected: 0 });
    expect(agent.status().drops).toMatchObject({ no_consent: 35, rejected_by_server: 0 });
    expect(agent.status().spool.files).toBe(0);
    const stored = await server.server.app.context.db
      .selectFrom('events')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('type', '=', 'activity.app.launched')
      .execute();
    expect(stored).toHaveLength(0);
  });

  it('refetches the config on config.updated', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolled(server);
    const handled: HandledCommand[] = [];
    agent.on('command', (command) => handled.push(command));
    await agent.start();
    await untilReady(agent);
    const put = await server.admin(
      '/v1/admin/config',
      { tenant: 'acme', deviceId, config: { heartbeatIntervalMs: 123_000 } },
      'PUT',
    );
    expect(put.status).toBe(200);
    await waitFor(
      () => handled.find((h) => h.type === 'config.updated' && h.answer.status === 'acked'),
      'config.updated acked',
    );
  });

  it('goes retrying when the server stops and back to ready when it returns on the same port', async () => {
    const dataDir = tempDir('fl-agent-rt-server-');
    const first = await startBackend({ dataDir });
    const { agent, deviceId } = await enrolled(first);
    await agent.start();
    await untilReady(agent);
    const seen = states(agent);
    const closes: Array<number | undefined> = [];
    agent.on('connection', (change) => closes.push(change.closeCode));

    await first.stop();
    await waitFor(() => agent.status().realtime.state === 'retrying', 'retrying');
    // The server said "going away"; later attempts are refused (1006) until it returns.
    expect(closes[0]).toBe(1001);

    const second = await backend({ port: first.server.port, dataDir });
    await waitFor(() => agent.status().realtime.state === 'ready', 'ready again', 15_000);
    expect(second.server.gateway.isConnected(deviceId)).toBe(true);
    expect(seen).toContain('retrying');
    expect(seen.at(-1)).toBe('ready');
    expect(agent.status().realtime.attempts).toBe(0);
  });

  it('is replaced (4000) by a second connection of the same device and waits the cap before returning', async () => {
    const server = await backend();
    const { agent, deviceId, stateDir } = await enrolled(server, {
      realtime: { backoff: { baseMs: 20, capMs: 1_500 } },
    });
    const twinDir = tempDir('fl-agent-rt-twin-');
    cpSync(stateDir, twinDir, { recursive: true });
    await agent.start();
    await untilReady(agent);

    const twin = await openAgent(twinDir, { realtime: { backoff: { baseMs: 20, capMs: 1_500 } } });
    await twin.start();
    await waitFor(() => twin.status().realtime.state === 'ready', 'twin ready');
    await waitFor(() => agent.status().realtime.lastCloseCode === 4000, '4000 replaced');
    const replacedAt = Date.now();
    expect(agent.status().realtime.state).toBe('retrying');
    await twin.shutdown({ timeoutMs: 500 });

    await waitFor(() => agent.status().realtime.state === 'ready', 'back after the cap', 10_000);
    expect(Date.now() - replacedAt).toBeGreaterThanOrEqual(1_000);
    expect(server.server.gateway.isConnected(deviceId)).toBe(true);
  });

  it('stops and goes unenrolled when the server refuses a revoked device (4403)', async () => {
    const dataDir = tempDir('fl-agent-rt-server-');
    const first = await startBackend({ dataDir });
    const { agent, deviceId } = await enrolled(first);
    await agent.start();
    await untilReady(agent);
    await first.server.app.context.db
      .updateTable('devices')
      .set({ status: 'revoked' })
      .where('id', '=', deviceId)
      .execute();
    await first.stop();
    await backend({ port: first.server.port, dataDir });
    await waitFor(() => agent.status().lifecycle === 'unenrolled', 'unenrolled', 15_000);
    expect(agent.status().realtime).toMatchObject({ state: 'stopped', lastCloseCode: 4403 });
  });

  it('falls back to HTTP polling when offline: commands still arrive and are acked', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolled(server, {
      realtime: {
        // Nothing listens on port 1: every socket attempt fails.
        url: 'ws://127.0.0.1:1/v1/ws',
        backoff: { baseMs: 10, capMs: 50 },
        maxAttemptsBeforeOffline: 2,
        pollIntervalMs: 200,
      },
    });
    const runs: string[] = [];
    agent.onCommand('deploy', (command) => {
      runs.push(command.via);
    });
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'offline', 'offline');
    const id = await postCommand(server, deviceId, 'deploy', { version: '3' });
    await waitFor(
      async () => (await commandRecord(server, id)).status === 'acked',
      'acked by HTTP',
    );
    expect(runs).toEqual(['http']);
    expect(agent.status().realtime.state).toBe('offline');
    expect(agent.status().realtime.attempts).toBeGreaterThanOrEqual(2);
  });

  it('sends event batches on the socket when asked, and over HTTP when the socket is not ready', async () => {
    const server = await backend();
    await server.admin('/v1/admin/policies', {
      tenant: 'acme',
      version: 1,
      scopes: ['activity'],
      text: 'Policy.',
    });
    // The real HTTP transport, counting the batches that take the HTTP route.
    const http = createHttpTransport();
    let httpBatches = 0;
    const transport: Transport = {
      request(request) {
        if (request.url.endsWith('/v1/events')) httpBatches++;
        return http.request(request);
      },
    };
    const { agent, deviceId } = await enrolled(server, {
      transport,
      realtime: { ...FAST_REALTIME, sendEventsOverSocket: true },
    });
    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.heartbeat();
    // Not started, so no socket: the batch goes over HTTP.
    const first = agent.track('activity.app.launched', { app: 'over-http', pid: 1 });
    const beforeStart = httpBatches;
    expect(await agent.flush()).toMatchObject({ delivered: 1, deferred: 0 });
    expect(httpBatches).toBe(beforeStart + 1);

    await agent.start();
    await untilReady(agent);
    const second = agent.track('activity.app.launched', { app: 'over-socket', pid: 2 });
    const beforeSocket = httpBatches;
    expect(await agent.flush()).toMatchObject({ delivered: 1, deferred: 0 });
    expect(httpBatches).toBe(beforeSocket);
    const ids = [first, second].map((t) => (t.status === 'queued' ? t.id : ''));
    expect((await server.storedEventIds(deviceId)).sort()).toEqual(ids.sort());
  });

  it('serves channels both ways: handler replies, unknown channels, requests and timeouts', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolled(server);
    await expect(agent.request('echo', 'say', {})).rejects.toMatchObject({ code: 'not_ready' });
    agent.channel('diagnostics', (message) =>
      message.type === 'uptime' ? { uptimeMs: 42, asked: message.body } : undefined,
    );
    server.server.gateway.channel('echo', ({ body }: { body: unknown }) => ({ echoed: body }));
    server.server.gateway.channel('slow', () => new Promise(() => undefined));
    await agent.start();
    await untilReady(agent);

    const { gateway } = server.server;
    expect(await gateway.request(deviceId, 'diagnostics', 'uptime', { q: 1 })).toEqual({
      uptimeMs: 42,
      asked: { q: 1 },
    });
    await expect(gateway.request(deviceId, 'nope', 'x', {})).rejects.toMatchObject({
      code: 'unknown_channel',
    });

    expect(await agent.request('echo', 'say', { hi: 'there' })).toEqual({
      echoed: { hi: 'there' },
    });
    const timedOut: unknown = await agent
      .request('slow', 'wait', {}, { timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(isRealtimeError(timedOut) && timedOut.code).toBe('request_timeout');
    const remote: unknown = await agent.request('missing', 'x', {}).catch((e: unknown) => e);
    expect(isRealtimeError(remote) && remote.code).toBe('remote_error');
    expect(isRealtimeError(remote) && remote.details).toMatchObject({ code: 'unknown_channel' });
  });
});
