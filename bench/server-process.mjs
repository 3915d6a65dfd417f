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

/** Resident memory of a process, in MB. */
export function rssMb(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/**
 * Starts `fieldline-server start` on a free port with a fresh data directory and waits until
 * it is ready. `databaseUrl` selects PostgreSQL, else PGlite. BENCH_SERVER_NODE_ARGS (e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to node, to profile the server.
 */
export async function startServerProcess({ adminToken, databaseUrl }) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'fl-bench-'));
  const env = { ...process.env, FIELDLINE_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, CLI, 'start', '--port', String(port), '--data-dir', dataDir],
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
