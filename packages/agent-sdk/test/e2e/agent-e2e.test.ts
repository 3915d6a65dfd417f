// The agent against a real reference server, with real files and sockets.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2, maxElapsedMs: 2_000 };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(options?: Parameters<typeof startBackend>[0]): Promise<TestBackend> {
  const started = await startBackend(options);
  cleanups.push(() => started.stop());
  return started;
}

async function enrolledAgent(server: TestBackend, stateDir = tempStateDir()) {
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  await server.admin('/v1/admin/policies', {
    tenant: 'acme',
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Policy.',
  });
  const agent = await createAgent({ stateDir, retry: FAST_RETRY });
  const { deviceId } = await agent.enroll({
    serverUrl: server.url,
    installToken: await server.installToken(),
  });
  cleanups.push(() => agent.shutdown({ timeoutMs: 1_000 }).then(() => undefined));
  return { agent, deviceId, stateDir };
}

describe('agent end to end', () => {
  it('enroll → grant → track → flush stores every event exactly once', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolledAgent(server);
    expect(agent.status().consent).toEqual({ status: 'pending', policyVersion: 1 });
    expect(agent.track('activity.app.launched', { app: 'calc' })).toMatchObject({
      status: 'refused',
      reason: 'no_consent',
    });

    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    // start() sends a heartbeat; the grant comes back with the answer.
    await agent.start();
    expect(agent.status().consent.status).toBe('granted');
    const ids: string[] = [];
    for (let i = 0; i < 1_200; i++) {
      const result = agent.track('activity.window.focused', { app: `app-${i % 7}`, pid: 100 + i });
      if (result.status === 'queued') ids.push(result.id);
    }
    expect(ids).toHaveLength(1_200);
    const flushed = await agent.flush();
    expect(flushed.delivered).toBe(1_200);
    expect((await server.storedEventIds(deviceId)).sort()).toEqual([...ids].sort());
    await agent.flush();
    expect(await server.storedEventIds(deviceId)).toHaveLength(1_200);
    expect(agent.status().spool.files).toBe(0);
  });

  it('spools while the server is down and delivers everything once it is back', async () => {
    const first = await startBackend();
    const { port, dataDir } = first.server;
    const { agent, deviceId } = await enrolledAgent(first);
    await first.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    await agent.flush();
    await first.server.stop();

    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const result = agent.track('activity.system.active', { idleForMs: i });
      if (result.status === 'queued') ids.push(result.id);
    }
    const offline = await agent.flush();
    expect(offline.deferred).toBe(300);
    expect(agent.status().connection).toBe('offline');
    expect(agent.status().spool.files).toBeGreaterThan(0);
    const job = await agent.runJob('backup', () => ({ bytes: 42 }));
    expect(job.delivered).toBe(false);

    const second = await backend({ port, dataDir });
    const online = await agent.flush();
    expect(online.delivered).toBe(301);
    expect((await second.storedEventIds(deviceId)).sort()).toEqual([...ids].sort());
    const reports = await second.admin(`/v1/admin/devices/${deviceId}/reports`);
    expect(reports.body.reports.map((r: { job: string }) => r.job)).toEqual(['backup']);
    expect(agent.status().spool.files).toBe(0);
    expect(agent.status().connection).toBe('online');
  });

  it('stops and purges on withdrawal: nothing further is sent or accepted', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolledAgent(server);
    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    await agent.flush();
    expect(agent.track('activity.app.launched', { app: 'before' }).status).toBe('queued');
    await agent.flush();
    const consentChanges: string[] = [];
    agent.on('consent', (consent) => consentChanges.push(consent.status));

    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'withdraw' });
    agent.track('activity.app.launched', { app: 'queued-at-withdrawal' });
    // The withdrawal arrives with the next answer; the queued event is purged, not sent later.
    await agent.heartbeat();
    expect(consentChanges).toContain('withdrawn');
    expect(agent.track('activity.app.launched', { app: 'after' })).toMatchObject({
      status: 'refused',
      reason: 'no_consent',
    });
    await agent.flush();
    const stored = await server.server.app.context.db
      .selectFrom('events')
      .select('data')
      .where('device_id', '=', deviceId)
      .where('type', '=', 'activity.app.launched')
      .execute();
    expect(stored.map((row) => (row.data as { app: string }).app)).toEqual(['before']);
    expect(agent.status().drops.no_consent).toBeGreaterThanOrEqual(1);
  });

  it('goes unenrolled after repeated 401s when the device is revoked, keeping its spool', async () => {
    const server = await backend();
    const { agent, deviceId } = await enrolledAgent(server);
    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    await agent.flush();
    await server.server.app.context.db
      .updateTable('devices')
      .set({ status: 'revoked' })
      .where('id', '=', deviceId)
      .execute();
    for (let round = 0; round < 3; round++) {
      agent.track('activity.system.active', { idleForMs: round });
      await agent.flush();
    }
    expect(agent.status().lifecycle).toBe('unenrolled');
    expect(agent.status().spool.files).toBeGreaterThan(0);
    expect(await server.storedEventIds(deviceId)).toHaveLength(0);
  });

  it('falls back to the cached config when the server is unreachable, and fails clearly without one', async () => {
    const server = await backend();
    const { agent, stateDir } = await enrolledAgent(server);
    await agent.refreshConfig();
    await server.server.stop();
    const errors: Error[] = [];
    agent.on('error', (error) => errors.push(error));
    const cached = await agent.refreshConfig();
    expect(cached.flush.maxBatchEvents).toBe(500);
    expect(errors[0]?.message).toMatch(/cached config/);

    rmSync(`${stateDir}/config.cached.json`);
    const fresh = await createAgent({ stateDir, retry: FAST_RETRY });
    await expect(fresh.refreshConfig()).rejects.toMatchObject({ code: 'no_config' });
  });
});
