// The agent's contract, each piece against the real reference server and
// real files: state-file modes, safe re-enrollment, refusals and their counts,
// overflow to disk instead of loss, drop accounting reaching the server, jobs.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent.js';
import type { AgentStatus } from '../../src/agent-types.js';
import type { Collector, CollectorEmit, CollectorStartOptions } from '../../src/collector.js';
import { readJobStates } from '../../src/state/read-job-states.js';
import { createHttpTransport, type Transport } from '../../src/transport/http-transport.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2, maxElapsedMs: 2_000 };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  agentOptions: {
    maxQueuedEvents?: number;
    collectors?: Collector[];
    transport?: Transport;
    realtime?: { enabled: boolean };
    spool?: { maxTotalBytes: number };
  } = {},
) {
  const server = await startBackend();
  cleanups.push(() => server.stop());
  const stateDir = tempStateDir();
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  await server.admin('/v1/admin/policies', {
    tenant: 'acme',
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Policy.',
  });
  const agent = await createAgent({ stateDir, retry: FAST_RETRY, ...agentOptions });
  cleanups.push(() => agent.shutdown({ timeoutMs: 1_000 }).then(() => undefined));
  const { deviceId } = await agent.enroll({
    serverUrl: server.url,
    installToken: await server.installToken(),
  });
  return { server, agent, deviceId, stateDir };
}

async function grantAndStart(
  server: TestBackend,
  agent: Awaited<ReturnType<typeof createAgent>>,
  deviceId: string,
) {
  await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
  await agent.start();
}

describe('agent behaviour', () => {
  it('keeps keys and credentials in 0600 files in a 0700 directory', async () => {
    const { stateDir } = await setup();
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    for (const file of ['identity.json', 'enrollment.json', 'spool.key']) {
      expect(statSync(join(stateDir, file)).mode & 0o777).toBe(0o600);
    }
  });

  it('keeps the old identity when a re-enrollment is refused', async () => {
    const { server, agent, deviceId, stateDir } = await setup();
    const before = readFileSync(join(stateDir, 'identity.json'), 'utf8');
    await expect(
      agent.enroll({ serverUrl: server.url, installToken: 'fl_install_not_valid_0000' }),
    ).rejects.toMatchObject({
      code: 'enrollment_failed',
    });
    expect(readFileSync(join(stateDir, 'identity.json'), 'utf8')).toBe(before);
    expect(agent.status().deviceId).toBe(deviceId);
    await grantAndStart(server, agent, deviceId);
    expect(agent.status().connection).toBe('online');
  });

  it('refuses unknown types, invalid data and unconsented scopes with typed results, and counts them', async () => {
    const { agent } = await setup();
    const dropped: string[] = [];
    agent.on('dropped', (drop) => dropped.push(drop.reason));
    expect(agent.trackUntyped('no.such.type', {})).toMatchObject({
      status: 'refused',
      reason: 'unknown_type',
    });
    expect(
      agent.track('activity.network.volume', { intervalMs: 1, bytesIn: 1, bytesOut: 1 }),
    ).toMatchObject({
      status: 'refused',
      reason: 'no_consent',
    });
    expect(agent.track('device.heartbeat', { uptimeMs: -1 })).toMatchObject({
      status: 'refused',
      reason: 'invalid',
    });
    // Operational events need no consent.
    expect(agent.track('device.heartbeat', { uptimeMs: 1 }).status).toBe('queued');
    expect(agent.status().drops).toMatchObject({ invalid: 2, no_consent: 1 });
    expect(dropped).toEqual(['invalid', 'no_consent', 'invalid']);
    // The types do not stop a JavaScript caller: track() checks the same at run time.
    // @ts-expect-error: not a registered type
    expect(agent.track('no.such.type', {}).status).toBe('refused');
    // @ts-expect-error: uptimeMs is a number
    const wrongData = agent.track('device.heartbeat', { uptimeMs: 'soon' });
    expect(wrongData).toMatchObject({ status: 'refused', reason: 'invalid' });
    expect(agent.status().drops).toMatchObject({ invalid: 4, no_consent: 1 });
  });

  it('moves the buffer to disk when it is full instead of dropping, then delivers all', async () => {
    const { server, agent, deviceId } = await setup({ maxQueuedEvents: 10 });
    await grantAndStart(server, agent, deviceId);
    const ids: string[] = [];
    for (let i = 0; i < 35; i++) {
      const result = agent.track('activity.system.active', { idleForMs: i });
      if (result.status === 'queued') ids.push(result.id);
    }
    expect(ids).toHaveLength(35);
    expect(agent.status().drops.overflow).toBe(0);
    await agent.flush();
    await agent.flush();
    expect((await server.storedEventIds(deviceId)).sort()).toEqual([...ids].sort());
  });

  it('sends spilled events from memory when the spool cannot take them, counting none dropped', async () => {
    // A spool this small refuses every batch (spool_entry_too_large): the copies in memory
    // are all that is left, and they still reach the server.
    const { server, agent, deviceId } = await setup({
      maxQueuedEvents: 10,
      spool: { maxTotalBytes: 512 },
    });
    const errors: string[] = [];
    agent.on('error', (error) => errors.push(error.message));
    await grantAndStart(server, agent, deviceId);
    const ids: string[] = [];
    for (let i = 0; i < 35; i++) {
      const result = agent.track('activity.system.active', { idleForMs: i });
      if (result.status === 'queued') ids.push(result.id);
    }
    await agent.flush();
    expect((await server.storedEventIds(deviceId)).sort()).toEqual([...ids].sort());
    expect(agent.status().drops.overflow).toBe(0);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('counts spilled events the spool refused as dropped, once, when they cannot be sent', async () => {
    const { server, agent, deviceId } = await setup({
      maxQueuedEvents: 10,
      spool: { maxTotalBytes: 512 },
    });
    agent.on('error', () => undefined);
    await grantAndStart(server, agent, deviceId);
    await server.stop();
    for (let i = 0; i < 30; i++) agent.track('activity.system.active', { idleForMs: i });
    await agent.flush();
    await agent.flush();
    // Three batches of ten spilled and refused by the spool, none delivered: each counted once.
    expect(agent.status().drops.overflow).toBe(30);
  });

  it('reports its drop counts to the server with the next batch', async () => {
    const { server, agent, deviceId } = await setup();
    agent.track('activity.app.launched', { app: 'before-consent' });
    agent.track('activity.app.launched', { app: 'before-consent' });
    agent.track('device.heartbeat', { uptimeMs: -5 });
    await grantAndStart(server, agent, deviceId);
    const detail = await server.admin(`/v1/admin/devices/${deviceId}`);
    expect(detail.body.drops).toMatchObject({ no_consent: 2, invalid: 1 });
    const metrics = await server.server.metrics.render();
    expect(metrics).toContain('fieldline_agent_events_dropped_total{reason="no_consent"} 2');
  });

  it('reports drop counts once while two batches are in flight side by side', async () => {
    const { server, agent, deviceId } = await setup({ maxQueuedEvents: 10 });
    await grantAndStart(server, agent, deviceId);
    agent.track('device.heartbeat', { uptimeMs: -1 });
    agent.track('device.heartbeat', { uptimeMs: -2 });
    const ids: string[] = [];
    for (let i = 0; i < 45; i++) {
      const result = agent.track('activity.system.active', { idleForMs: i });
      if (result.status === 'queued') ids.push(result.id);
    }
    await agent.flush();
    await agent.flush();
    expect((await server.storedEventIds(deviceId)).sort()).toEqual([...ids].sort());
    const detail = await server.admin(`/v1/admin/devices/${deviceId}`);
    expect(detail.body.drops).toMatchObject({ invalid: 2 });
  });

  it('never lets an earlier answer overtake a later one’s consent', async () => {
    // The first batch's answer is held back until the second batch, sent after an admin
    // withdrawal, has been answered: the agent must stay withdrawn.
    const http = createHttpTransport();
    let armed = false;
    let eventPosts = 0;
    let releaseFirst: () => void = () => undefined;
    const firstMayReturn = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstAnswered: () => void = () => undefined;
    const firstWasAnswered = new Promise<void>((resolve) => {
      firstAnswered = resolve;
    });
    let withdraw: () => Promise<unknown> = async () => undefined;
    const transport: Transport = {
      async request(request) {
        if (!armed || request.method !== 'POST' || !request.url.endsWith('/v1/events')) {
          return http.request(request);
        }
        eventPosts += 1;
        if (eventPosts === 1) {
          const answer = await http.request(request);
          firstAnswered();
          await firstMayReturn;
          return answer;
        }
        if (eventPosts === 2) {
          // The server has answered the first batch (granted) before the withdrawal.
          await firstWasAnswered;
          await withdraw();
          const answer = await http.request(request);
          setTimeout(releaseFirst, 50);
          return answer;
        }
        return http.request(request);
      },
    };
    const { server, agent, deviceId } = await setup({
      maxQueuedEvents: 10,
      transport,
      realtime: { enabled: false },
    });
    await grantAndStart(server, agent, deviceId);
    withdraw = () => server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'withdraw' });
    armed = true;
    for (let i = 0; i < 25; i++) agent.track('activity.system.active', { idleForMs: i });
    await agent.flush();
    expect(eventPosts).toBeGreaterThanOrEqual(2);
    expect(agent.status().consent.status).toBe('withdrawn');
  });

  it('runs jobs, keeps their last state on disk, and reports failures with their error', async () => {
    const { server, agent, deviceId, stateDir } = await setup();
    await grantAndStart(server, agent, deviceId);
    const seen: string[] = [];
    agent.on('job', (record) => seen.push(`${record.job}:${record.status}`));
    const ok = await agent.runJob('backup', async () => ({ files: 12, bytes: 3456 }));
    expect(ok).toMatchObject({
      status: 'succeeded',
      metrics: { files: 12, bytes: 3456 },
      delivered: true,
    });
    const failed = await agent.runJob('prune', () => {
      throw Object.assign(new Error('repository locked'), { code: 'locked' });
    });
    expect(failed).toMatchObject({
      status: 'failed',
      error: { message: 'repository locked', code: 'locked' },
      delivered: true,
    });
    expect(seen).toEqual(['backup:succeeded', 'prune:failed']);
    expect(existsSync(join(stateDir, 'jobs', 'backup.json'))).toBe(true);
    const status: AgentStatus = agent.status();
    expect(Object.keys(status.jobs).sort()).toEqual(['backup', 'prune']);
    const reports = await server.admin(`/v1/admin/devices/${deviceId}/reports`);
    expect(
      reports.body.reports
        .map((r: { job: string; status: string }) => `${r.job}:${r.status}`)
        .sort(),
    ).toEqual(['backup:succeeded', 'prune:failed']);
    // A restarted agent still knows the jobs' last runs.
    const reloaded = await createAgent({ stateDir });
    expect(Object.keys(reloaded.status().jobs).sort()).toEqual(['backup', 'prune']);
    // A job run by another process on the same state dir (a one-shot `job` beside a running
    // agent) shows in readJobStates and in the running agent's next status file.
    await reloaded.runJob('verify', async () => ({ checked: 1 }));
    expect(Object.keys(await readJobStates(stateDir)).sort()).toEqual([
      'backup',
      'prune',
      'verify',
    ]);
    expect(agent.status().jobs.verify).toBeUndefined();
    await agent.writeStatusFile();
    const written = JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as AgentStatus;
    expect(written.jobs.verify?.status).toBe('succeeded');
  });

  it('emits typed flush and state events and writes a status file', async () => {
    const { server, agent, deviceId, stateDir } = await setup();
    const states: string[] = [];
    agent.on('state', (state) => states.push(`${state.lifecycle}/${state.connection}`));
    const flushes: number[] = [];
    agent.on('flush', (result) => flushes.push(result.delivered));
    await grantAndStart(server, agent, deviceId);
    expect(states).toContain('running/online');
    expect(flushes.length).toBeGreaterThan(0);
    await agent.writeStatusFile();
    const file = JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as AgentStatus;
    expect(file.deviceId).toBe(deviceId);
    expect(file.consent.status).toBe('granted');
  });

  it('runs a collector only while its scope is granted, with the config interval, and stops it on withdrawal', async () => {
    const log: string[] = [];
    let emit: CollectorEmit | undefined;
    const collector: Collector = {
      name: 'app-activity',
      scope: 'activity',
      support: () => ({ supported: true }),
      start(target: CollectorEmit, options?: CollectorStartOptions) {
        emit = target;
        log.push(`start:${options?.intervalMs}`);
      },
      stop() {
        emit = undefined;
        log.push('stop');
      },
    };
    const { server, agent, deviceId } = await setup({ collectors: [collector] });
    await agent.start();
    expect(log).toEqual([]);
    expect(agent.status().collectors['app-activity']).toBe('stopped');

    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.heartbeat();
    expect(log).toEqual(['start:2000']);
    emit?.('activity.app.launched', { app: 'from-collector', pid: 7 });
    await agent.flush();
    const stored = await server.server.app.context.db
      .selectFrom('events')
      .select('data')
      .where('device_id', '=', deviceId)
      .where('type', '=', 'activity.app.launched')
      .execute();
    expect(stored.map((row) => (row.data as { app: string }).app)).toEqual(['from-collector']);

    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'withdraw' });
    await agent.heartbeat();
    expect(log).toEqual(['start:2000', 'stop']);
    expect(emit).toBeUndefined();
    expect(agent.status().collectors['app-activity']).toBe('stopped');
  });
});
