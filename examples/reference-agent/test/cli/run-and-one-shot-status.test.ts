// A live `fieldline-agent run` and one-shot commands (`job`, `track`, `run --once`) on the same
// state directory, all as child processes against the real reference server: status.json
// must keep showing the live run (never a one-shot's "stopped" snapshot), and the run's
// snapshot must show what the one-shots did (their jobs), during the run and after it stops;
// the run's consent, learned at start-up, must not flap back to pending.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Backend,
  CLI,
  PACKAGE_DIR,
  removeDir,
  requireBuiltCli,
  runCli,
  startBackend,
  tempDir,
} from './support.js';

interface StatusSnapshot {
  lifecycle: string;
  updatedAt: string;
  jobs: Record<string, { status: string }>;
  realtime?: { state: string };
}

function readStatusJson(stateDir: string): StatusSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as StatusSnapshot;
  } catch {
    // Never half-written (rename), but absent before the first write.
    return undefined;
  }
}

function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
) {
  return vi.waitUntil(probe, { timeout: timeoutMs, interval: 50 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

describe('fieldline-agent run beside one-shot commands', () => {
  let backend: Backend;
  let serverDir: string;
  let stateDir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    requireBuiltCli();
    serverDir = tempDir('fl-ref-agent-oneshot-server-');
    stateDir = tempDir('fl-ref-agent-oneshot-state-');
    backend = await startBackend({ dataDir: serverDir });
  });
  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await backend?.stop().catch(() => undefined);
    removeDir(serverDir);
    removeDir(stateDir);
  });

  it('keeps the live run as the owner of status.json and shows the one-shots’ jobs', {
    timeout: 90_000,
  }, async () => {
    const enrolled = await runCli([
      'enroll',
      '--server',
      backend.url,
      '--token',
      await backend.installToken(),
      '--state-dir',
      stateDir,
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const deviceId = /device id:\s+(\S+)/.exec(enrolled.stdout)?.[1] as string;
    await backend.publishPolicy();
    await backend.grant(deviceId);

    let stderr = '';
    const running = spawn(process.execPath, [CLI, 'run', '--state-dir', stateDir], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = running;
    running.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => running.on('close', resolve));
    await waitFor(() => {
      const status = readStatusJson(stateDir);
      return status?.lifecycle === 'running' && status.realtime?.state === 'ready';
    }, 'the live run in status.json');

    // Every snapshot status.json holds while the one-shots run, read as often as we can.
    const seen: StatusSnapshot[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const status = readStatusJson(stateDir);
        if (status !== undefined) seen.push(status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const node = process.execPath;
    const results = await Promise.all([
      runCli(['job', 'nightly-a', '--state-dir', stateDir, '--', node, '-e', '']),
      runCli(['job', 'nightly-b', '--state-dir', stateDir, '--', node, '-e', '']),
      runCli([
        'track',
        'activity.app.launched',
        '--data',
        '{"app":"calculator"}',
        '--state-dir',
        stateDir,
      ]),
      runCli(['run', '--once', '--state-dir', stateDir]),
    ]);
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    // The run picks the one-shots' jobs up in its own snapshot (it rewrites every 5 s).
    const merged = await waitFor(() => {
      const status = readStatusJson(stateDir);
      return status?.jobs['nightly-a'] !== undefined && status.jobs['nightly-b'] !== undefined
        ? status
        : undefined;
    }, 'both jobs in the live run’s status.json');
    watching = false;
    await watcher;
    expect(merged.lifecycle).toBe('running');
    expect(merged.jobs['nightly-a']?.status).toBe('succeeded');
    expect(merged.jobs['nightly-b']?.status).toBe('succeeded');
    const notLive = seen.filter((status) => status.lifecycle !== 'running');
    expect(notLive.map((status) => `${status.lifecycle} at ${status.updatedAt}`)).toEqual([]);

    running.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    // Started after the policy and grant, the run was sent the queued consent.updated (pending)
    // and (granted) commands besides the heartbeat's answer: consent must never go backwards.
    expect(stderr).toMatch(/consent \w+ -> granted/);
    expect(stderr).not.toMatch(/consent granted -> pending/);
    const final = readStatusJson(stateDir);
    expect(final?.lifecycle).toBe('stopped');
    expect(Object.keys(final?.jobs ?? {}).sort()).toEqual(['nightly-a', 'nightly-b']);
  });
});
