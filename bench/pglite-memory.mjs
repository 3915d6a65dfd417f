// Memory of the embedded database (PGlite): what a bare node process, a bare PGlite, the
// server-sdk's createDatabase and the reference server hold, each in a child process of its
// own so the figures are that process's alone. RSS is read from /proc/<pid>/status: VmHWM is
// the peak since the process started, VmRSS what it holds now. Prints a table; asserts nothing.
//
// The reference server runs as `fieldline-server start` does: V8's baseline WebAssembly compiler
// only, unless FIELDLINE_PGLITE_OPTIMIZE=1 is set for the bench.
//
// BENCH_IDLE_MS (default 30,000) is how long the server idles before "idle" is read;
// BENCH_LOAD_EVENTS (default 5,000) is how many events one device sends, in batches of 500.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { makeEvents } from './fixtures.mjs';
import { fmt, printTable } from './harness.mjs';
import { peakRssMb, rssMb, startServerProcess } from './server-process.mjs';

const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 30_000);
const LOAD_EVENTS = Number(process.env.BENCH_LOAD_EVENTS ?? 5_000);
const BATCH = 500;
const SETTLE_MS = 2_000;
const CHILD = fileURLToPath(new URL('./pglite-memory-child.mjs', import.meta.url));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What fieldline-server start sets for embedded PGlite (src/db/use-baseline-wasm-compiler.ts).
const BASELINE = ['--liftoff-only'];

async function measureChild(mode, dir, nodeArgs = []) {
  const proc = spawn(process.execPath, [...nodeArgs, CHILD, mode, dir ?? ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const readyMs = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /ready (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    proc.once('exit', (code) => reject(new Error(`child ${mode} exited (${code}) before ready`)));
  });
  await sleep(SETTLE_MS);
  const figures = { readyMs, peak: peakRssMb(proc.pid), rss: rssMb(proc.pid) };
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  return figures;
}

async function sendLoad(url, admin) {
  const { enrollDevices, postBatch, sealedBatch } = await import('./ingest.mjs');
  const [device] = await enrollDevices(url, 1, admin);
  let accepted = 0;
  for (let sent = 0; sent < LOAD_EVENTS; sent += BATCH) {
    const body = await sealedBatch(device, makeEvents(Math.min(BATCH, LOAD_EVENTS - sent)));
    const response = await postBatch(url, device, body);
    const result = await response.json();
    if (response.status !== 200) throw new Error(`ingest failed: ${JSON.stringify(result)}`);
    accepted += result.accepted;
  }
  return accepted;
}

// The figures of a running server, or a note that it is gone.
function serverFigures(server, extra = {}) {
  const exited = server.exitStatus();
  if (exited !== undefined) throw new Error(`the server exited (${exited})`);
  return { ...extra, peak: peakRssMb(server.pid), rss: rssMb(server.pid) };
}

const row = (step, { readyMs, peak, rss } = {}) => ({
  step,
  'ready s': readyMs === undefined ? '' : (readyMs / 1000).toFixed(1),
  'peak MB (VmHWM)': peak === undefined ? '' : fmt(peak),
  'RSS MB (VmRSS)': rss === undefined ? '' : fmt(rss),
});

export async function run() {
  const rows = [];
  const scratch = mkdtempSync(join(tmpdir(), 'fl-pglite-mem-'));
  try {
    rows.push(row('bare node process', await measureChild('node')));
    const bare = join(scratch, 'bare');
    rows.push(row('bare PGlite (its defaults), fresh dir', await measureChild('pglite', bare)));
    rows.push(row('bare PGlite (its defaults), existing dir', await measureChild('pglite', bare)));
    rows.push(
      row(
        'bare PGlite, 16 MB shared buffers, baseline compiler, existing dir',
        await measureChild('pglite-small', bare, BASELINE),
      ),
    );
    const sdk = join(scratch, 'sdk');
    rows.push(
      row(
        'createDatabase + migrations, fresh dir, baseline compiler',
        await measureChild('create-database', sdk, BASELINE),
      ),
    );
    rows.push(
      row(
        'createDatabase + migrations, existing dir, baseline compiler',
        await measureChild('create-database', sdk, BASELINE),
      ),
    );
    rows.push(
      row(
        'createDatabase + migrations, existing dir, optimizing compiler',
        await measureChild('create-database', sdk),
      ),
    );

    const adminToken = `fl_admin_bench_${randomBytes(12).toString('hex')}`;
    const dataDir = join(scratch, 'server');
    const first = await startServerProcess({ adminToken, dataDir });
    try {
      rows.push(
        row('reference server, first start', serverFigures(first, { readyMs: first.readyMs })),
      );
      await sleep(IDLE_MS);
      rows.push(row(`  idle ${IDLE_MS / 1000} s later`, serverFigures(first)));
      const t0 = performance.now();
      const accepted = await sendLoad(first.url, adminToken);
      const seconds = (performance.now() - t0) / 1000;
      await sleep(SETTLE_MS);
      rows.push(
        row(
          `  after 1 device sent ${fmt(accepted)} events (${fmt(accepted / seconds)}/s)`,
          serverFigures(first),
        ),
      );
    } finally {
      await first.stop();
    }
    const second = await startServerProcess({ adminToken, dataDir });
    try {
      rows.push(
        row(
          'reference server, second start (same dir)',
          serverFigures(second, { readyMs: second.readyMs }),
        ),
      );
      await sleep(IDLE_MS);
      rows.push(row(`  idle ${IDLE_MS / 1000} s later`, serverFigures(second)));
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  printTable(
    'pglite-memory — each step in a process of its own (peak = VmHWM since that process started)',
    ['step', 'ready s', 'peak MB (VmHWM)', 'RSS MB (VmRSS)'],
    rows,
  );
}
