// `fieldline-agent run` as a long-running child process: while it runs, `fieldline-agent
// status` (another process) shows its live real-time connection and consent, including a
// withdrawal pushed by the admin over the socket.
import { type ChildProcess, spawn } from 'node:child_process';
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

async function statusJson(stateDir: string) {
  const run = await runCli(['status', '--json', '--state-dir', stateDir]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as {
    lifecycle: string;
    consent: { status: string };
    realtime?: { state: string; attempts: number };
  };
}

// vitest polls; the wrapper only names what was awaited when it times out.
function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
) {
  return vi.waitUntil(probe, { timeout: timeoutMs, interval: 100 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

describe('fieldline-agent run keeps status current', () => {
  let backend: Backend;
  let serverDir: string;
  let stateDir: string;
  let child: ChildProcess | undefined;
  let stderr = '';

  beforeAll(async () => {
    requireBuiltCli();
    serverDir = tempDir('fl-ref-agent-live-server-');
    stateDir = tempDir('fl-ref-agent-live-state-');
    backend = await startBackend({ dataDir: serverDir });
    await backend.publishPolicy();
  });
  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await backend?.stop().catch(() => undefined);
    removeDir(serverDir);
    removeDir(stateDir);
  });

  it('status --json shows realtime ready while run is going, and a pushed withdrawal', async () => {
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
    const deviceId = /device id:\s+(\S+)/.exec(enrolled.stdout)?.[1] as string;
    await backend.grant(deviceId);

    const running = spawn(process.execPath, [CLI, 'run', '--state-dir', stateDir], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = running;
    running.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => running.on('close', resolve));

    // The socket may be ready a moment before the start-up heartbeat brings the grant.
    const ready = await waitFor(async () => {
      const status = await statusJson(stateDir);
      return status.realtime?.state === 'ready' && status.consent.status === 'granted' && status;
    }, 'realtime ready and consent granted in status.json');
    expect(ready.lifecycle).toBe('running');
    expect(backend.server.gateway.isConnected(deviceId)).toBe(true);

    const withdrawn = await backend.admin(`/v1/admin/devices/${deviceId}/consent`, {
      action: 'withdraw',
    });
    expect(withdrawn.status).toBe(200);
    // Pushed as a consent.withdrawn command; the status file follows within moments.
    await waitFor(
      async () => (await statusJson(stateDir)).consent.status === 'withdrawn',
      'withdrawn in status.json',
      5_000,
    );
    const text = await runCli(['status', '--state-dir', stateDir]);
    expect(text.stdout).toMatch(/realtime:\s+ready since/);
    expect(stderr).toContain('command consent.withdrawn');

    running.kill('SIGTERM');
    expect(await exited).toBe(0);
    const after = await statusJson(stateDir);
    expect(after.lifecycle).toBe('stopped');
    expect(after.realtime?.state).toBe('stopped');
    await waitFor(
      async () => !backend.server.gateway.isConnected(deviceId),
      'the server to see the close',
    );
  });
});
