// The built CLI on a state directory whose spool holds a directory, a FIFO and a corrupt file
// under spool file names (as a bad day or another user can leave): every command ends with the
// right code in bounded time, the good events are delivered, what was set aside is said, and
// SIGTERM still stops `run`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
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
  storedEvents,
  tempDir,
} from './support.js';

// Names the spool would take for its own entries.
const entryName = (n: number) => `001767225600000-${String(900_000 + n)}-0000beef.spool`;

describe('fieldline-agent on a hostile spool', () => {
  let backend: Backend;
  let serverDir: string;
  let stateDir: string;
  let spool: string;
  let deviceId: string;

  async function plant(first: number): Promise<void> {
    await mkdir(join(spool, entryName(first)));
    execFileSync('mkfifo', [join(spool, entryName(first + 1))]);
    await writeFile(join(spool, entryName(first + 2)), 'not a spool file at all');
  }

  beforeAll(async () => {
    requireBuiltCli();
    serverDir = tempDir('fl-ref-agent-hostile-server-');
    stateDir = tempDir('fl-ref-agent-hostile-state-');
    spool = join(stateDir, 'spool');
    backend = await startBackend({ dataDir: serverDir });
    await backend.publishPolicy();
    const token = await backend.installToken();
    const enrolled = await runCli([
      'enroll',
      '--server',
      backend.url,
      '--token',
      token,
      '--state-dir',
      stateDir,
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    deviceId = /device id:\s+(\S+)/.exec(enrolled.stdout)?.[1] as string;
    await backend.grant(deviceId);
    // Hear of the grant once, so that tracking while the server is away is consented.
    const heard = await runCli(['run', '--once', '--state-dir', stateDir]);
    expect(heard.code, heard.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await backend?.stop().catch(() => undefined);
    removeDir(serverDir);
    removeDir(stateDir);
  });

  it('flush, track and run --once exit with the right code and deliver the good events', async () => {
    // Three events spooled while the server is away.
    const { port } = backend;
    await backend.stop();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const data = JSON.stringify({ app: `offline-${i}`, pid: 10 + i });
      const run = await runCli([
        'track',
        'activity.app.launched',
        '--data',
        data,
        '--state-dir',
        stateDir,
      ]);
      expect(run.code, run.stderr).toBe(0);
      ids.push(/^spooled activity\.app\.launched (\S+)/m.exec(run.stdout)?.[1] as string);
    }
    backend = await startBackend({ port, dataDir: serverDir });
    await plant(1);

    const flushed = await runCli(['flush', '--state-dir', stateDir]);
    expect(flushed.signal).toBeNull();
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(flushed.stdout).toMatch(/, 0 left/);
    expect(flushed.stderr).toMatch(
      /set aside 1 corrupt, 2 unreadable or not a regular file spool file\(s\) in .*quarantine/,
    );
    const stored = new Set((await storedEvents(backend, deviceId)).map((event) => event.id));
    expect(ids.filter((id) => !stored.has(id))).toEqual([]);

    await plant(4);
    const tracked = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      JSON.stringify({ app: 'online', pid: 99 }),
      '--state-dir',
      stateDir,
    ]);
    expect(tracked.code, tracked.stderr).toBe(0);
    expect(tracked.stdout).toMatch(/^sent activity\.app\.launched /m);

    await plant(7);
    const once = await runCli(['run', '--once', '--state-dir', stateDir]);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toMatch(/set aside 1 corrupt, 2 unreadable/);

    const status = await runCli(['status', '--state-dir', stateDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/spool:\s+0 files .*; 9 set aside in quarantine\//);
    expect(status.stdout).toMatch(/spool_corrupt 1, spool_unreadable 2/);

    // The counts reached the server's view of the device (one-shot runs report per process).
    const device = await backend.admin(`/v1/admin/devices/${deviceId}`);
    expect((device.body as { drops: Record<string, number> }).drops).toMatchObject({
      spool_corrupt: 3,
      spool_unreadable: 6,
    });
  }, 120_000);

  it('a lost spool.key: flush keeps the files aside, says so and exits 1; the restored key delivers them', async () => {
    const { port } = backend;
    await backend.stop();
    const data = JSON.stringify({ app: 'before-the-loss', pid: 5 });
    const spooled = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      data,
      '--state-dir',
      stateDir,
    ]);
    expect(spooled.code, spooled.stderr).toBe(0);
    const id = /^spooled activity\.app\.launched (\S+)/m.exec(spooled.stdout)?.[1] as string;
    backend = await startBackend({ port, dataDir: serverDir });

    const keyPath = join(stateDir, 'spool.key');
    const oldKey = await readFile(keyPath);
    await unlink(keyPath);
    const lost = await runCli(['flush', '--state-dir', stateDir]);
    expect(lost.code, lost.stderr).toBe(1);
    expect(lost.stderr).toMatch(
      /\d+ spool file\(s\) were written under another spool\.key .* kept in .*orphaned-.*restore the old spool\.key/,
    );
    const notYet = new Set((await storedEvents(backend, deviceId)).map((event) => event.id));
    expect(notYet.has(id)).toBe(false);

    await writeFile(keyPath, oldKey, { mode: 0o600 });
    const restored = await runCli(['flush', '--state-dir', stateDir]);
    expect(restored.code, restored.stderr).toBe(0);
    const stored = new Set((await storedEvents(backend, deviceId)).map((event) => event.id));
    expect(stored.has(id)).toBe(true);
  }, 60_000);

  it('run with a FIFO in the spool starts, and ends promptly on SIGTERM', async () => {
    execFileSync('mkfifo', [join(spool, entryName(10))]);
    const child = spawn(process.execPath, [CLI, 'run', '--state-dir', stateDir], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await vi.waitUntil(() => stderr.includes('running as device'), {
        timeout: 20_000,
        interval: 100,
      });
      expect(stderr).toMatch(/set aside .*1 unreadable/);
      child.kill('SIGTERM');
      // A hung agent would be killed by the fallback below and fail on the signal.
      const fallback = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const ended = await exited;
      clearTimeout(fallback);
      expect(ended, stderr).toEqual({ code: 0, signal: null });
      expect(stderr).toMatch(/stopped; 0 spool file\(s\) kept/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
