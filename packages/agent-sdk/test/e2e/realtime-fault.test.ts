// Fault test of the real-time channel: 100 agents hold sockets to the real reference server,
// a broadcast is posted and the server is stopped at once (mid-delivery), then restarted on
// the same port and data directory. Every agent must come back, and every command of the
// broadcast before and after the restart must be handled exactly once and end acked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { type Agent, createAgent } from '../../src/agent.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

const AGENTS = 100;
const cleanups: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// vitest polls; the wrapper only names what was awaited when it times out.
function waitFor(probe: () => boolean | Promise<boolean>, what: string, timeoutMs: number) {
  return vi.waitUntil(probe, { timeout: timeoutMs, interval: 50 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

async function inBatches<T, R>(items: readonly T[], size: number, run: (item: T) => Promise<R>) {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(run))));
  }
  return results;
}

it(`reconnects ${AGENTS} agents after a server restart with every command acked once`, {
  timeout: 240_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fl-agent-rt-fault-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  let server: TestBackend = await startBackend({ dataDir });
  cleanups.push(() => server.stop());

  // How many times each agent's handler ran each command id.
  const runs = new Map<string, number>();
  const agents: Agent[] = await inBatches(
    Array.from({ length: AGENTS }, (_, index) => index),
    10,
    async () => {
      const stateDir = tempStateDir();
      cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
      const agent = await createAgent({
        stateDir,
        retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 3, maxElapsedMs: 5_000 },
        realtime: { backoff: { baseMs: 100, capMs: 1_000 } },
      });
      cleanups.push(() => agent.shutdown({ timeoutMs: 500 }));
      await agent.enroll({ serverUrl: server.url, installToken: await server.installToken() });
      agent.onCommand('deploy', (command) => {
        const key = `${agent.status().deviceId}/${command.id}`;
        runs.set(key, (runs.get(key) ?? 0) + 1);
      });
      await agent.start();
      return agent;
    },
  );
  const allReady = () => agents.every((agent) => agent.status().realtime.state === 'ready');
  await waitFor(allReady, 'every agent ready', 60_000);
  expect(server.server.gateway.connectedDevices).toBe(AGENTS);

  // Broadcast, then stop the server without waiting: some commands are delivered and acked,
  // some delivered and not yet acked, some not delivered at all when the sockets drop.
  const before = await server.admin('/v1/admin/commands/broadcast', {
    tenant: 'acme',
    type: 'deploy',
  });
  expect(before.body.count).toBe(AGENTS);
  const port = server.server.port;
  await server.stop();
  await waitFor(
    () => agents.every((agent) => agent.status().realtime.state !== 'ready'),
    'every agent noticed the restart',
    30_000,
  );

  server = await startBackend({ port, dataDir });
  await waitFor(allReady, 'every agent ready again', 90_000);
  await waitFor(
    () => server.server.gateway.connectedDevices === AGENTS,
    'every socket held again',
    30_000,
  );
  const after = await server.admin('/v1/admin/commands/broadcast', {
    tenant: 'acme',
    type: 'deploy',
  });
  expect(after.body.count).toBe(AGENTS);

  const ids: string[] = [...before.body.ids, ...after.body.ids];
  const statuses = async () =>
    server.server.app.context.db
      .selectFrom('commands')
      .select(['id', 'status', 'device_id'])
      .where('id', 'in', ids)
      .execute();
  await waitFor(
    async () => (await statuses()).every((row) => row.status === 'acked'),
    'every command acked',
    90_000,
  );
  const rows = await statuses();
  expect(rows).toHaveLength(2 * AGENTS);
  // Each command ran exactly once, on its own device.
  for (const row of rows) expect(runs.get(`${row.device_id}/${row.id}`), row.id).toBe(1);
  expect([...runs.values()].reduce((sum, count) => sum + count, 0)).toBe(2 * AGENTS);
});
