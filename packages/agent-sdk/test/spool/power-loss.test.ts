// A simulated power cut at every point of the agent's spool work, against a real reference
// server: what the file system had not fsynced is dropped, the agent restarts on what survived,
// and every event a completed flush held before the cut must be stored exactly once.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent.js';
import { createHttpTransport, type Transport } from '../../src/transport/http-transport.js';
import { startBackend, type TestBackend } from '../e2e/support.js';
import { createPowerCutFileSystem, type PowerCutFileSystem } from './power-cut-file-system.js';

const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2, maxElapsedMs: 500 };
// After the restart, patient enough to ride out the server's per-device rate limit (429).
const PATIENT_RETRY = { baseDelayMs: 50, maxDelayMs: 1_000, maxAttempts: 8, maxElapsedMs: 15_000 };
// Devices taken in turn, so that no one of them runs into the server's per-device rate limit.
const DEVICES = 4;
const NO_SOCKET = { enabled: false } as const;
const ROUNDS = 4;
const EVENTS_PER_ROUND = 30;
const CUT: unique symbol = Symbol('power cut');

let backend: TestBackend;
const templates: Array<{ readonly stateDir: string; readonly deviceId: string }> = [];
const made: string[] = [];

beforeAll(async () => {
  backend = await startBackend();
  await backend.admin('/v1/admin/policies', {
    tenant: 'acme',
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Policy.',
  });
  for (let i = 0; i < DEVICES; i++) {
    const stateDir = mkdtempSync(join(tmpdir(), 'fl-power-template-'));
    made.push(stateDir);
    const agent = await createAgent({ stateDir, retry: FAST_RETRY, realtime: NO_SOCKET });
    const { deviceId } = await agent.enroll({
      serverUrl: backend.url,
      installToken: await backend.installToken(),
    });
    await backend.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    expect(agent.status().consent.status).toBe('granted');
    await agent.shutdown({ timeoutMs: 2_000 });
    templates.push({ stateDir, deviceId });
  }
}, 60_000);

afterAll(async () => {
  await backend?.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A transport that goes dark with the power, and can be switched off to make batches wait. */
function transportFor(power: PowerCutFileSystem) {
  const real = createHttpTransport();
  const state = { offline: false };
  const transport: Transport = {
    request(request) {
      if (power.isCut()) return new Promise(() => undefined);
      if (state.offline) return Promise.reject(new Error('ECONNREFUSED (test: server away)'));
      return real.request(request);
    },
  };
  return { transport, state };
}

async function untilCut<T>(power: PowerCutFileSystem, work: Promise<T>): Promise<T | typeof CUT> {
  return Promise.race<T | typeof CUT>([work, power.cut.then((): typeof CUT => CUT)]);
}

/**
 * One life of the agent until the power goes at file-system operation `cutAt`: rounds of
 * track (past the memory queue, so batches spill to disk) and flush, one of them with the
 * server away so its batches wait in the spool. Returns the ids of events whose flush completed.
 */
async function liveUntilCut(stateDir: string, cutAt: number) {
  const power = createPowerCutFileSystem(join(stateDir, 'spool'), cutAt);
  const { transport, state } = transportFor(power);
  const acknowledged: string[] = [];
  const agent = await untilCut(
    power,
    createAgent({
      stateDir,
      retry: FAST_RETRY,
      realtime: NO_SOCKET,
      transport,
      maxQueuedEvents: 12,
      spool: { fileSystem: power.fs, maxFilesPerRun: 2 },
    }),
  );
  if (agent === CUT) return { power, acknowledged, cutDuringLife: true };
  if ((await untilCut(power, agent.start())) === CUT) {
    return { power, acknowledged, cutDuringLife: true };
  }
  for (let round = 0; round < ROUNDS; round++) {
    state.offline = round === 1;
    const ids: string[] = [];
    for (let i = 0; i < EVENTS_PER_ROUND; i++) {
      const result = agent.track('activity.window.focused', { app: `r${round}`, pid: i + 1 });
      if (result.status === 'queued') ids.push(result.id);
    }
    expect(ids).toHaveLength(EVENTS_PER_ROUND);
    if ((await untilCut(power, agent.flush())) === CUT) break;
    acknowledged.push(...ids);
  }
  // A life that ended before its cut point loses the power right after its last flush.
  const cutDuringLife = power.isCut();
  power.cutNow();
  return { power, acknowledged, cutDuringLife };
}

async function restartAndDrain(stateDir: string) {
  const agent = await createAgent({ stateDir, retry: PATIENT_RETRY, realtime: NO_SOCKET });
  const errors: Error[] = [];
  agent.on('error', (error) => errors.push(error));
  await agent.start();
  for (let round = 0; round < 30 && agent.status().spool.files > 0; round++) await agent.flush();
  const status = agent.status();
  await agent.shutdown({ timeoutMs: 2_000 });
  return { status, errors };
}

let turn = 0;

/** A copy of the next template device's state directory, and its device id. */
function freshStateDir(): { stateDir: string; deviceId: string } {
  const template = templates[turn++ % templates.length]!;
  const stateDir = mkdtempSync(join(tmpdir(), 'fl-power-state-'));
  made.push(stateDir);
  cpSync(template.stateDir, stateDir, { recursive: true });
  return { stateDir, deviceId: template.deviceId };
}

describe('a power cut at any file-system operation of the spool', () => {
  it('delivers every event a completed flush held exactly once after the restart', async () => {
    // How many operations one whole life takes, without a cut.
    const counting = freshStateDir();
    const full = await liveUntilCut(counting.stateDir, Number.POSITIVE_INFINITY);
    expect(full.acknowledged).toHaveLength(ROUNDS * EVENTS_PER_ROUND);
    expect(full.cutDuringLife).toBe(false);
    const total = full.power.operations();
    expect(total).toBeGreaterThan(100);

    // Every operation early on (opening, recovery), then a spread over the whole run.
    const cutPoints = new Set<number>();
    for (let n = 1; n <= 12; n++) cutPoints.add(n);
    const step = Math.max(1, Math.floor(total / 36));
    for (let n = 13; n <= total; n += step) cutPoints.add(n);
    let acknowledgedOverall = 0;
    let cutsDuringLife = 0;
    for (const cutAt of cutPoints) {
      const { stateDir, deviceId } = freshStateDir();
      const { power, acknowledged, cutDuringLife } = await liveUntilCut(stateDir, cutAt);
      if (cutDuringLife) cutsDuringLife += 1;
      await power.survivors();
      const { status, errors } = await restartAndDrain(stateDir);
      expect(
        status.spool.files,
        `cut at ${cutAt}: spool drained (${JSON.stringify({ ...status.drops, lastError: status.lastError, lifecycle: status.lifecycle, consent: status.consent })})`,
      ).toBe(0);
      // A cut never leaves a damaged or unreadable entry behind: data is fsynced before rename.
      expect(status.drops, `cut at ${cutAt}`).toMatchObject({
        spool_corrupt: 0,
        spool_unreadable: 0,
        overflow: 0,
      });
      expect(status.spool.keyMismatch, `cut at ${cutAt}`).toBeUndefined();
      expect(errors, `cut at ${cutAt}`).toEqual([]);

      const stored = await backend.storedEventIds(deviceId);
      const counts = new Map<string, number>();
      for (const id of stored) counts.set(id, (counts.get(id) ?? 0) + 1);
      const missing = acknowledged.filter((id) => counts.get(id) !== 1);
      expect(missing, `cut at ${cutAt}: acknowledged but not stored once`).toEqual([]);
      acknowledgedOverall += acknowledged.length;
      rmSync(stateDir, { recursive: true, force: true });
    }
    // The cuts fell throughout the run, not only before the first flush.
    expect(acknowledgedOverall).toBeGreaterThan(cutPoints.size * EVENTS_PER_ROUND);
    // (A life can take fewer operations than the counting one; those lose power at its end.)
    expect(cutsDuringLife).toBeGreaterThan(cutPoints.size * 0.8);
  }, 120_000);
});
