// The agent used the way the READMEs show it (enroll, start, track, shutdown), against the real
// reference server over real sockets: consent learned at start-up must not flap back to
// pending, track() right after start() must be accepted, and shutdown() must not resolve while
// command acks are still under way nor let anything be emitted after it resolved.
import { rmSync } from 'node:fs';
import type { ConsentSnapshot } from '@fieldline/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Agent, createAgent } from '../../src/agent.js';
import { createHttpTransport, type Transport } from '../../src/transport/http-transport.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2, maxElapsedMs: 1_000 };
const cleanups: Array<() => Promise<unknown> | undefined> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// vitest polls; the wrapper only names what was awaited when it times out.
function waitFor(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  return vi.waitUntil(probe, { timeout: timeoutMs, interval: 20 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

async function newAgent(options: { transport?: Transport; realtime?: { enabled: boolean } } = {}) {
  const stateDir = tempStateDir();
  cleanups.push(() => {
    rmSync(stateDir, { recursive: true, force: true });
    return undefined;
  });
  const agent = await createAgent({ stateDir, retry: FAST_RETRY, ...options });
  // Idempotent after a test's own shutdown; stops what a failed test left running.
  cleanups.push(() => agent.shutdown({ timeoutMs: 500 }));
  return agent;
}

/** Every event the agent emits, in order, with what shutdown() marked. */
function recordEvents(agent: Agent): string[] {
  const log: string[] = [];
  agent.on('error', (error) => log.push(`error ${error.message}`));
  agent.on('command', (handled) => log.push(`command ${handled.type} ${handled.answer.status}`));
  agent.on('consent', (consent) => log.push(`consent ${consent.status}`));
  agent.on('flush', () => log.push('flush'));
  agent.on('state', (state) => log.push(`state ${state.lifecycle}`));
  agent.on('connection', (change) => log.push(`connection ${change.state}`));
  return log;
}

async function enrollGranted(server: TestBackend, agent: Agent, tenant: string) {
  const { deviceId } = await agent.enroll({
    serverUrl: server.url,
    installToken: await server.installToken(tenant),
  });
  // README order: the policy is published and consent granted after enrollment, so the
  // server queues consent.updated(pending) and then consent.updated(granted) for the device.
  const policy = await server.admin('/v1/admin/policies', {
    tenant,
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Policy.',
  });
  expect(policy.status).toBe(201);
  const grant = await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
  expect(grant.status).toBe(200);
  return deviceId;
}

describe('start() then track(), in the README order', () => {
  it('accepts track() right after start() and never flaps granted → pending, 10 runs', {
    timeout: 60_000,
  }, async () => {
    const server = await startBackend();
    cleanups.push(() => server.stop());
    for (let run = 0; run < 10; run++) {
      // Odd runs speak HTTP only: the stale command then comes with the heartbeat's answer.
      const agent = await newAgent(run % 2 === 0 ? {} : { realtime: { enabled: false } });
      const transitions: ConsentSnapshot['status'][] = [];
      const commands = new Set<string>();
      agent.on('consent', (consent) => transitions.push(consent.status));
      agent.on('command', (handled) => {
        if (handled.type.startsWith('consent.')) commands.add(handled.id);
      });
      const deviceId = await enrollGranted(server, agent, `readme-${run}`);
      await agent.start();
      const tracked = agent.track('activity.app.launched', { app: 'calculator', pid: 4242 });
      expect(tracked, `run ${run}`).toMatchObject({ status: 'queued' });
      // Both queued consent commands reach the agent (socket and/or heartbeat answer) and are
      // answered; the stale pending one must change nothing.
      await waitFor(() => commands.size >= 2, `run ${run}: both consent commands answered`);
      expect(agent.status().consent.status, `run ${run}`).toBe('granted');
      const firstGrant = transitions.indexOf('granted');
      expect(firstGrant, `run ${run}: ${transitions.join(' > ')}`).toBeGreaterThanOrEqual(0);
      expect(transitions.slice(firstGrant), `run ${run}: ${transitions.join(' > ')}`).toEqual([
        'granted',
      ]);
      await agent.flush();
      const stored = await server.storedEventIds(deviceId);
      if (tracked.status === 'queued') expect(stored).toContain(tracked.id);
      await agent.shutdown({ timeoutMs: 2_000 });
    }
  });
});

describe('shutdown() with command acks in flight', () => {
  it('waits for an HTTP ack the server answers slowly, then emits nothing', async () => {
    const server = await startBackend();
    cleanups.push(() => server.stop());
    const http = createHttpTransport();
    const ackSent = deferred();
    // The server is there but slow to answer acks.
    const transport: Transport = {
      async request(request) {
        if (request.method === 'POST' && /\/v1\/commands\/[^/]+\/ack$/.test(request.url)) {
          ackSent.resolve();
          await new Promise((resolve) => setTimeout(resolve, 400));
        }
        return http.request(request);
      },
    };
    // HTTP only: the command comes with the heartbeat's answer and is acked by HTTP.
    const agent = await newAgent({ transport, realtime: { enabled: false } });
    const deviceId = await enrollGranted(server, agent, 'slow-acks');
    agent.onCommand('deploy', () => undefined);
    await agent.start();
    const created = await server.admin(`/v1/admin/devices/${deviceId}/commands`, {
      type: 'deploy',
    });
    expect(created.status).toBe(201);
    const log = recordEvents(agent);
    await agent.heartbeat();
    await ackSent.promise;
    await agent.shutdown({ timeoutMs: 5_000 });
    log.push('resolved');
    // The ack reached the server before shutdown() resolved.
    const record = await server.admin(`/v1/admin/commands/${created.body.id}`);
    expect(record.body.status).toBe('acked');
    expect(log.indexOf('command deploy acked')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('command deploy acked')).toBeLessThan(log.indexOf('resolved'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(log.at(-1)).toBe('resolved');
  });

  it('reports a failed ack before it resolves when the server is gone', async () => {
    const server = await startBackend();
    let stopped = false;
    cleanups.push(() => (stopped ? undefined : server.stop()));
    const agent = await newAgent();
    const deviceId = await enrollGranted(server, agent, 'server-gone');
    const started = deferred();
    const release = deferred();
    agent.onCommand('deploy', async () => {
      started.resolve();
      await release.promise;
    });
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'realtime ready');
    const created = await server.admin(`/v1/admin/devices/${deviceId}/commands`, {
      type: 'deploy',
    });
    expect(created.status).toBe(201);
    await started.promise;
    // The handler is running; the server dies before it can be acked.
    await server.stop();
    stopped = true;
    const log = recordEvents(agent);
    const shutdown = agent.shutdown({ timeoutMs: 5_000 });
    setTimeout(release.resolve, 300);
    await shutdown;
    log.push('resolved');
    const failedAck = log.findIndex((entry) => /^error Could not ack command/.test(entry));
    expect(failedAck, log.join('\n')).toBeGreaterThanOrEqual(0);
    expect(failedAck).toBeLessThan(log.indexOf('resolved'));
    expect(log).toContain('command deploy acked');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(log.at(-1), log.join('\n')).toBe('resolved');
  });

  it('gives up on a hung handler at its timeout and stays silent when it ends', async () => {
    const server = await startBackend();
    let stopped = false;
    cleanups.push(() => (stopped ? undefined : server.stop()));
    const agent = await newAgent();
    const deviceId = await enrollGranted(server, agent, 'hung-handler');
    const started = deferred();
    const release = deferred();
    let handlerDone = false;
    agent.onCommand('deploy', async () => {
      started.resolve();
      await release.promise;
      handlerDone = true;
    });
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'realtime ready');
    await server.admin(`/v1/admin/devices/${deviceId}/commands`, { type: 'deploy' });
    await started.promise;
    await server.stop();
    stopped = true;
    const log = recordEvents(agent);
    // Resolves although the handler never finishes within the timeout.
    await agent.shutdown({ timeoutMs: 300 });
    log.push('resolved');
    expect(handlerDone).toBe(false);
    release.resolve();
    await waitFor(() => handlerDone, 'the handler to end');
    // Its ack goes to a dead server and fails: nobody is told any more.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(log.at(-1), log.join('\n')).toBe('resolved');
  });
});
