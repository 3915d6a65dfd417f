// The reference server as a child process for benches: its own CPU and memory, so the
// figures are the server's and not the load generator's.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = new URL('../packages/reference-server/dist/cli.js', import.meta.url).pathname;

/** A free TCP port on 127.0.0.1. */
export const freePort = () =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function statusMb(pid, field) {
  let status;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return Number.NaN; // the process is gone
  }
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Resident memory of a process, in MB. */
export const rssMb = (pid) => statusMb(pid, 'VmRSS');

/** Peak resident memory of a process since it started (the kernel's high-water mark), in MB. */
export const peakRssMb = (pid) => statusMb(pid, 'VmHWM');

/**
 * Starts `fieldline-server start` on a free port and waits until `/readyz` answers 200
 * (`readyMs` is how long that took). `databaseUrl` selects PostgreSQL, else PGlite. Without
 * `dataDir` a fresh data directory is made and removed on `stop()`; a given one is kept.
 * `env` is added to the environment and `args` to `fieldline-server start`.
 * BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to node, to
 * profile the server.
 */
export async function startServerProcess({
  adminToken,
  databaseUrl,
  dataDir: keptDataDir,
  env: extraEnv = {},
  args = [],
}) {
  const port = await freePort();
  const dataDir = keptDataDir ?? mkdtempSync(join(tmpdir(), 'fl-bench-'));
  const env = { ...process.env, FIELDLINE_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn', ...extraEnv };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, CLI, 'start', '--port', String(port), '--data-dir', dataDir, ...args],
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  let exited = false;
  let exitStatus;
  child.once('exit', (code, signal) => {
    exited = true;
    exitStatus = signal ?? `code ${code}`;
  });
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {}
    if (exited) throw new Error('the server exited before it was ready');
    if (performance.now() - started > 120_000) {
      child.kill('SIGTERM');
      throw new Error('the server was not ready within 120 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid,
    readyMs: performance.now() - started,
    /** How the server exited (`code 1`, `SIGKILL`…), or undefined while it runs. */
    exitStatus: () => exitStatus,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      if (keptDataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `fieldline-server worker <names…>` on `databaseUrl` (its own data directory, removed
 * on `stop()`); BENCH_SERVER_NODE_ARGS applies to it too.
 */
export function startWorkerProcess(names, databaseUrl) {
  const dataDir = mkdtempSync(join(tmpdir(), 'fl-bench-worker-'));
  const env = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' };
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, CLI, 'worker', ...names, '--data-dir', dataDir],
    {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  return {
    pid: child.pid,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
