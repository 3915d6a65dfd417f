// `fieldline-server worker` as a user runs it (the built CLI): names checked, the relay refused
// without NATS, a consumer worker on the embedded stream runs until SIGTERM and exits 0.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function run(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.FIELDLINE_STREAM;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const result = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    result.stderr += chunk.toString('utf8');
  });
  return result;
}

describe.skipIf(!existsSync(CLI))('fieldline-server worker', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('answers a usage error without names and for a bad --stream', async () => {
    const bare = run(['worker']);
    expect(await bare.exit).toBe(2);
    expect(bare.stderr).toMatch(/Name the workers to run/);
    const badStream = run(['worker', 'tail', '--stream', 'http://127.0.0.1:4222']);
    expect(await badStream.exit).toBe(2);
    expect(badStream.stderr).toMatch(/must be "embedded" or nats:\/\/host:port/);
  });

  it('refuses an unknown worker, and the relay without NATS, naming the fix', async () => {
    const unknown = run(['worker', 'nope', '--data-dir', dir.path]);
    expect(await unknown.exit).toBe(1);
    expect(unknown.stderr).toMatch(
      /Unknown worker "nope"; the workers are: relay, analytics, webhooks, tail/,
    );
    const relay = run(['worker', 'relay', '--data-dir', dir.path]);
    expect(await relay.exit).toBe(1);
    expect(relay.stderr).toMatch(/give --stream nats:\/\/host:port/);
  });

  it('runs a consumer on the embedded stream until SIGTERM, then exits 0', async () => {
    const worker = run(['worker', 'tail', '--data-dir', dir.path]);
    await expect
      .poll(() => worker.stdout, { timeout: 45_000, message: worker.stderr })
      .toMatch(/Workers running: tail\./);
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toBe(0);
  }, 60_000);
});
