// Runs the built CLI (dist/cli.js) as a user would. `npm test` builds first.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  delete env.FIELDLINE_ADMIN_TOKEN;
  delete env.FIELDLINE_ANALYTICS;
  return { ...env, ...extra };
}

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** The signal that ended the process, if one did (for failure messages). */
  signal: NodeJS.Signals | null;
  readonly exit: Promise<number | null>;
}

function run(args: string[], env = cleanEnv()): Run {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Run = {
    child,
    stdout: '',
    stderr: '',
    signal: null,
    exit: new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        result.signal = signal;
        resolve(code);
      }),
    ),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString('utf8');
  });
  return result;
}

describe.skipIf(!existsSync(CLI))('the built fieldline-server CLI', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('prints usage: exit 0 for --help, 2 for an unknown command', async () => {
    const help = run(['--help']);
    expect(await help.exit).toBe(0);
    expect(help.stdout).toMatch(/^Usage: fieldline-server <command>/);
    const unknown = run(['serve']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command "serve"[\s\S]*Usage:/);
    const badSwitch = run(
      ['start', '--data-dir', dir.path],
      cleanEnv({ FIELDLINE_ANALYTICS: 'maybe' }),
    );
    expect(await badSwitch.exit).toBe(2);
    expect(badSwitch.stderr).toMatch(/FIELDLINE_ANALYTICS must be "on" or "off"; got "maybe"/);
  });

  it('migrates, then starts on port 0, prints the URL and tokens, serves, and exits 0 on SIGTERM', async () => {
    const migrate = run(['migrate', '--data-dir', dir.path]);
    expect(await migrate.exit).toBe(0);
    expect(migrate.stdout).toContain('Applied migration 0001-initial (pglite)');

    const server = run(['start', '--port', '0', '--data-dir', dir.path]);
    try {
      await expect
        .poll(() => server.stdout, { timeout: 45_000, interval: 100 })
        .toMatch(/Press Ctrl\+C to stop/);
      const url = /listening on (http:\/\/\S+)/.exec(server.stdout)?.[1];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(url).not.toMatch(/:0$/);
      expect(server.stdout).toMatch(/migrations: +up to date/);
      expect(server.stdout).toMatch(/admin token: +fl_admin_\S+/);
      expect(server.stdout).toMatch(/Install token for tenant "default"[^\n]*\n {2}fl_install_\S+/);

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exit).toBe(0);
      const logs = server.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(logs.map((record) => record.msg)).toEqual(
        expect.arrayContaining(['listening', 'signal received', 'shutting down', 'stopped']),
      );
      // The analytics consumer runs in process by default.
      expect(logs.find((record) => record.msg === 'listening')?.analytics).toBe('analytics');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('does not print a stored admin token again, and takes FIELDLINE_ADMIN_TOKEN', async () => {
    const restarted = run(['start', '--port', '0', '--data-dir', dir.path]);
    try {
      await expect
        .poll(() => restarted.stdout, { timeout: 45_000, interval: 100 })
        .toMatch(/Press Ctrl\+C to stop/);
      expect(restarted.stdout).toMatch(/admin token: +kept in \S+admin-token/);
      expect(restarted.stdout).not.toMatch(/fl_admin_/);
      restarted.child.kill('SIGINT');
      const code = await restarted.exit;
      expect(code, `signal ${restarted.signal}; stderr: ${restarted.stderr.slice(-2000)}`).toBe(0);
    } finally {
      restarted.child.kill('SIGKILL');
    }

    const server = run(
      ['start', '--port', '0', '--data-dir', dir.path],
      cleanEnv({
        FIELDLINE_ADMIN_TOKEN: 'operator-chosen-token-0123456789',
        FIELDLINE_ANALYTICS: 'off',
      }),
    );
    try {
      await expect
        .poll(() => server.stdout, { timeout: 45_000, interval: 100 })
        .toMatch(/Press Ctrl\+C to stop/);
      expect(server.stdout).toMatch(/admin token: +from FIELDLINE_ADMIN_TOKEN/);
      expect(server.stdout).not.toContain('operator-chosen-token');
      expect(server.stdout).not.toMatch(/fl_admin_/);
      server.child.kill('SIGINT');
      expect(await server.exit).toBe(0);
      const listening = server.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((record) => record.msg === 'listening');
      expect(listening?.analytics).toBe('off');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('exits 1 with a clear message when the identity file is broken', async () => {
    const broken = await makeTempDir();
    try {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(`${broken.path}/server-identity.json`, 'not json', { mode: 0o600 });
      const server = run(['start', '--port', '0', '--data-dir', broken.path]);
      expect(await server.exit).toBe(1);
      expect(server.stderr).toMatch(/^fieldline-server: .*server-identity\.json is not valid JSON/);
    } finally {
      await broken.remove();
    }
  });

  it('enforces retention once with "retention" and prints what it did', async () => {
    const retentionDir = await makeTempDir();
    try {
      const first = run(['retention', '--data-dir', retentionDir.path]);
      expect(await first.exit).toBe(0);
      expect(first.stdout).toMatch(/^Retention enforced at \S+ \(longest retention 90 days\)/);
      expect(first.stdout).toMatch(/day partitions now: +\d+/);
      const again = run(['retention', '--data-dir', retentionDir.path]);
      expect(await again.exit).toBe(0);
      expect(again.stdout).toContain('partitions dropped: none');
    } finally {
      await retentionDir.remove();
    }
  }, 60_000);
});
