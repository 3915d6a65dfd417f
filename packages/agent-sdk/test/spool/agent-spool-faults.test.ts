// The agent on a spool with hostile entries and a lost key, against a real reference server:
// the good events are delivered, what was set aside is counted in status().drops and in the
// server's device drops, and a lost key moves files aside loudly instead of deleting them.
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../src/agent.js';
import { isSpoolError } from '../../src/spool/spool-error.js';
import type { Transport } from '../../src/transport/http-transport.js';
import { createHttpTransport } from '../../src/transport/http-transport.js';
import { startBackend, type TestBackend, tempStateDir } from '../e2e/support.js';

const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2, maxElapsedMs: 500 };
const NO_SOCKET = { enabled: false } as const;
const FAKE_ENTRY = (n: number) => `001767225600000-${String(900_000 + n)}-0000beef.spool`;

let backend: TestBackend;
const dirs: string[] = [];

beforeAll(async () => {
  backend = await startBackend();
  await backend.admin('/v1/admin/policies', {
    tenant: 'acme',
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Policy.',
  });
}, 60_000);

afterAll(async () => {
  await backend?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A transport that can be told the server is away. */
function switchable() {
  const real = createHttpTransport();
  const state = { offline: false };
  const transport: Transport = {
    request: (request) =>
      state.offline
        ? Promise.reject(new Error('ECONNREFUSED (test: server away)'))
        : real.request(request),
  };
  return { transport, state };
}

/** An enrolled, consented agent that spooled `batches` batches of 25 events while offline. */
async function agentWithSpooledEvents(batches: number) {
  const stateDir = tempStateDir();
  dirs.push(stateDir);
  const { transport, state } = switchable();
  const agent = await createAgent({
    stateDir,
    retry: FAST_RETRY,
    realtime: NO_SOCKET,
    transport,
    maxQueuedEvents: 25,
  });
  const { deviceId } = await agent.enroll({
    serverUrl: backend.url,
    installToken: await backend.installToken(),
  });
  await backend.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
  await agent.start();
  state.offline = true;
  const ids: string[] = [];
  for (let i = 0; i < batches * 25; i++) {
    const result = agent.track('activity.window.focused', { app: `a${i % 5}`, pid: i + 1 });
    if (result.status === 'queued') ids.push(result.id);
  }
  const offline = await agent.flush();
  expect(offline.deferred).toBe(batches * 25);
  await agent.shutdown({ timeoutMs: 500 });
  const spool = join(stateDir, 'spool');
  expect((await readdir(spool)).filter((name) => name.endsWith('.spool'))).toHaveLength(batches);
  return { stateDir, spool, deviceId, ids };
}

async function reopen(stateDir: string, maxFilesPerRun = 20) {
  const agent = await createAgent({
    stateDir,
    retry: FAST_RETRY,
    realtime: NO_SOCKET,
    spool: { maxFilesPerRun },
  });
  const errors: Error[] = [];
  agent.on('error', (error) => errors.push(error));
  return { agent, errors };
}

async function drain(agent: Agent) {
  for (let round = 0; round < 20 && agent.status().spool.files > 0; round++) await agent.flush();
}

describe('the agent on a hostile spool', () => {
  it('delivers every good event past a directory, a FIFO and a corrupt file, and reports them', async () => {
    const { stateDir, spool, deviceId, ids } = await agentWithSpooledEvents(6);
    // One real entry damaged: a flipped bit in its ciphertext.
    const victim = (await readdir(spool)).filter((name) =>
      /^\d{15}-\d{6}-[0-9a-f]{8}\.spool$/.test(name),
    )[0]!;
    const bytes = await readFile(join(spool, victim));
    bytes[40] = (bytes[40] ?? 0) ^ 0x01;
    await writeFile(join(spool, victim), bytes);

    await mkdir(join(spool, FAKE_ENTRY(1)));
    execFileSync('mkfifo', [join(spool, FAKE_ENTRY(2))]);
    // One file per run: FlushResult.deferred must count what is still spooled, not 0.
    const { agent, errors } = await reopen(stateDir, 1);
    await agent.start();
    const first = await agent.flush();
    expect(first.deferred).toBe(agent.status().spool.files * 25);
    expect(first.deferred).toBeGreaterThan(0);
    await drain(agent);
    const last = await agent.flush();
    expect(last.deferred).toBe(0);

    const stored = new Set(await backend.storedEventIds(deviceId));
    const delivered = ids.filter((id) => stored.has(id));
    expect(delivered).toHaveLength(ids.length - 25);
    const status = agent.status();
    expect(status.drops).toMatchObject({ spool_corrupt: 1, spool_unreadable: 2 });
    expect(status.spool).toMatchObject({ files: 0, quarantine: { files: 3 } });
    expect(errors).toEqual([]);
    await agent.shutdown({ timeoutMs: 1_000 });

    // The counts rode along with a batch: the server's device view shows them.
    const device = await backend.admin(`/v1/admin/devices/${deviceId}`);
    expect(device.body.drops).toMatchObject({
      spool_corrupt: 1,
      spool_unreadable: 2,
    });
  });

  it('a lost spool.key: files moved aside (not deleted), an error event, a status field; the old key brings them back', async () => {
    const { stateDir, spool, deviceId, ids } = await agentWithSpooledEvents(4);
    const keyPath = join(stateDir, 'spool.key');
    const oldKey = await readFile(keyPath);
    await unlink(keyPath);

    const { agent, errors } = await reopen(stateDir);
    const mismatch = agent.status().spool.keyMismatch;
    expect(mismatch).toMatchObject({ files: 4 });
    expect(agent.status().lastError).toMatch(/another spool key.*moved, not deleted/);
    expect((await readdir(mismatch!.directory)).filter((n) => n.endsWith('.spool'))).toHaveLength(
      4,
    );
    await agent.start();
    expect(errors.filter(isSpoolError).map((error) => error.code)).toEqual(['spool_key_mismatch']);
    // New events flow under the new key.
    const fresh = agent.track('activity.window.focused', { app: 'new', pid: 1 });
    expect(fresh.status).toBe('queued');
    await agent.flush();
    await agent.shutdown({ timeoutMs: 1_000 });
    const storedBefore = new Set(await backend.storedEventIds(deviceId));
    expect(ids.filter((id) => storedBefore.has(id))).toEqual([]);

    // The operator restores the key from a backup: the next start delivers the old files.
    await writeFile(keyPath, oldKey, { mode: 0o600 });
    const restored = await reopen(stateDir);
    expect(restored.agent.status().spool.keyMismatch).toBeUndefined();
    await restored.agent.start();
    await drain(restored.agent);
    const stored = new Set(await backend.storedEventIds(deviceId));
    expect(ids.filter((id) => !stored.has(id))).toEqual([]);
    expect(restored.agent.status().drops).toMatchObject({ spool_corrupt: 0, spool_unreadable: 0 });
    await restored.agent.shutdown({ timeoutMs: 1_000 });
    expect(await readdir(spool)).not.toContain(mismatch!.directory.split('/').at(-1));
  });
});
