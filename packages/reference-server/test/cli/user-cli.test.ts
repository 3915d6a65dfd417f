// The first run and headless account creation through the built CLI (dist/cli.js), as a
// person would: `start` prints the one-time setup link while no account exists, and
// `user create` makes accounts with a password from stdin or a generated one.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', FIELDLINE_ANALYTICS: 'off' };
  delete env.DATABASE_URL;
  delete env.FIELDLINE_ADMIN_TOKEN;
  return env;
}

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

function run(args: string[], stdin?: string): Run {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(),
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const result: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString('utf8');
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  return result;
}

async function startAndWait(dataDir: string): Promise<Run & { url: string }> {
  const server = run(['start', '--port', '0', '--data-dir', dataDir]);
  await expect
    .poll(() => server.stdout, { timeout: 45_000, interval: 100 })
    .toMatch(/Press Ctrl\+C to stop/);
  const url = /listening on (http:\/\/\S+)/.exec(server.stdout)?.[1] ?? '';
  return Object.assign(server, { url });
}

async function stop(server: Run): Promise<void> {
  server.child.kill('SIGTERM');
  expect(await server.exit).toBe(0);
}

function login(url: string, email: string, password: string) {
  return fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

describe.skipIf(!existsSync(CLI))('accounts through the built fieldline-server CLI', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('prints a one-time setup link on the first start, which makes the owner', async () => {
    const first = await startAndWait(dir.path);
    try {
      // Everything it printed before is still there.
      expect(first.stdout).toMatch(/admin token: +fl_admin_\S+/);
      expect(first.stdout).toMatch(/Install token for tenant "default"[^\n]*\n {2}fl_install_\S+/);
      const link = /First run: no account exists yet[^\n]*\n {2}(\S+)/.exec(first.stdout)?.[1];
      expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/setup#token=fl_setup_[\w-]+$/);
      const token = new URL(link ?? '').hash.replace('#token=', '');
      const setup = await fetch(`${first.url}/v1/auth/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token,
          email: 'founder@example.org',
          password: 'the very first passphrase',
        }),
      });
      expect(setup.status).toBe(201);
      expect(setup.headers.get('set-cookie')).toMatch(/^fieldline_session=fl_session_/);
    } finally {
      await stop(first);
    }
    const again = await startAndWait(dir.path);
    try {
      expect(again.stdout).not.toContain('First run');
      expect(
        (await login(again.url, 'founder@example.org', 'the very first passphrase')).status,
      ).toBe(200);
    } finally {
      await stop(again);
    }
  }, 120_000);

  it('creates accounts headless: a password from stdin, or a generated one shown once', async () => {
    const piped = run(
      [
        'user',
        'create',
        '--email',
        'Ops@Acme.example',
        '--role',
        'tenant_admin',
        '--tenant',
        'acme',
        '--password-stdin',
        '--data-dir',
        dir.path,
      ],
      'piped in from a secret store\n',
    );
    expect(await piped.exit, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(
      /^Created tenant_admin ops@acme\.example \(usr_\S+\) for tenant "acme"\./,
    );
    expect(piped.stdout).not.toContain('password');

    const generated = run([
      'user',
      'create',
      '--email',
      'night@example.org',
      '--role',
      'owner',
      '--data-dir',
      dir.path,
    ]);
    expect(await generated.exit, generated.stderr).toBe(0);
    const password = /password: (\S+)/.exec(generated.stdout)?.[1] ?? '';
    expect(password).toMatch(/^[\w-]{24}$/);

    const duplicate = run([
      'user',
      'create',
      '--email',
      'NIGHT@example.org',
      '--role',
      'owner',
      '--data-dir',
      dir.path,
    ]);
    expect(await duplicate.exit).toBe(1);
    expect(duplicate.stderr).toMatch(
      /^fieldline-server: An account with the e-mail night@example\.org exists already/,
    );

    const short = run(
      [
        'user',
        'create',
        '--email',
        'x@example.org',
        '--role',
        'owner',
        '--password-stdin',
        '--data-dir',
        dir.path,
      ],
      'short\n',
    );
    expect(await short.exit).toBe(1);
    expect(short.stderr).toMatch(/at least 12 characters/);

    const server = await startAndWait(dir.path);
    try {
      const ops = await login(server.url, 'ops@acme.example', 'piped in from a secret store');
      expect(ops.status).toBe(200);
      expect(((await ops.json()) as { role: string; tenant: string }).tenant).toBe('acme');
      expect((await login(server.url, 'night@example.org', password)).status).toBe(200);
    } finally {
      await stop(server);
    }
  }, 120_000);
});
