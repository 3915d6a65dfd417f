// Agent bench: track() cost, events/s into sealed batches on one core, RSS
// and CPU of a live agent, and, in the same run, 50,000 events through
// posthog-node and @segment/analytics-node against a local sink as the peer
// baseline. The reference server runs in this process (embedded PGlite in a
// temp dir); every other workload runs alone in a child process
// (bench/agent-workload.mjs). Prints tables; asserts nothing.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createAgent } from '@fieldline/agent-sdk';
import { createLogger, startServer } from '@fieldline/reference-server';
import pg from 'pg';
import { sinkParties, startFieldlineSink } from './fieldline-sink.mjs';
import { fmt, printTable } from './harness.mjs';

const WORKLOAD = new URL('./agent-workload.mjs', import.meta.url).pathname;
const ADMIN = 'fl_admin_agent_bench_0123456789abcdef0123';
const TYPE = 'activity.window.focused';
const APPS = ['editor', 'browser', 'terminal', 'mail', 'chat', 'calendar', 'music'];
const dataOf = (i) => ({ app: APPS[i % APPS.length], pid: 1000 + (i % 30_000) });
const CPU_SECONDS = Number(process.env.BENCH_AGENT_CPU_SECONDS ?? 60);
const WARM_SECONDS = Number(process.env.BENCH_AGENT_WARM_SECONDS ?? 30);
const BURST = 50_000;
// Pin the one-core workloads to a single CPU when taskset is there.
const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));

const tempDirs = new Set();
const children = new Set();
function tempDir(prefix, base = tmpdir()) {
  const dir = mkdtempSync(join(base, prefix));
  tempDirs.add(dir);
  return dir;
}
function killChildren() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}
process.once('exit', killChildren);

/** Forks one workload, waits for its one IPC answer, and makes sure it is gone. */
function runWorkload(mode, options, { pinned = false, timeoutMs = 180_000 } = {}) {
  // BENCH_AGENT_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the workloads.
  const nodeArgs = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = fork(WORKLOAD, [mode, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(pinned && TASKSET
      ? { execPath: TASKSET, execArgv: ['-c', '1', process.execPath, ...nodeArgs] }
      : { execArgv: nodeArgs }),
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let answer;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${mode} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', (message) => {
      answer = message;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (answer?.ok) resolve({ ...answer.result, pid: child.pid });
      else reject(new Error(`${mode} failed (${signal ?? code}): ${answer?.error ?? 'no answer'}`));
    });
  });
}

// The server runs on PostgreSQL when one is configured (as in production), in
// a schema of its own; otherwise on embedded PGlite.
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;

async function startBackend() {
  const dataDir = tempDir('fl-agent-bench-server-');
  let databaseUrl;
  let dropSchema = async () => {};
  if (PG_URL) {
    const schema = `fl_agent_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = url.toString();
    dropSchema = async () => {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    };
  }
  const server = await startServer({
    port: 0,
    dataDir,
    adminToken: ADMIN,
    logger: createLogger({ level: 'silent' }),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
  });
  const stopServer = server.stop.bind(server);
  server.stop = async () => {
    const result = await stopServer();
    await dropSchema();
    return result;
  };
  const admin = async (path, body) => {
    const response = await fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  await admin('/v1/admin/policies', {
    tenant: 'bench',
    version: 1,
    scopes: ['activity', 'network'],
    text: 'Bench policy.',
  });
  return {
    server,
    dataDir,
    /** A state directory holding an enrolled device whose consent is granted and known. */
    async enrolledStateDir(base) {
      const stateDir = tempDir('fl-agent-bench-state-', base);
      const agent = await createAgent({ stateDir });
      const { token } = await admin('/v1/admin/install-tokens', { tenant: 'bench' });
      const { deviceId } = await agent.enroll({ serverUrl: server.url, installToken: token });
      await admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
      await agent.start(); // its heartbeat brings the grant back
      await agent.shutdown();
      if (agent.status().consent.status !== 'granted') throw new Error('consent not granted');
      return { stateDir, deviceId };
    },
    /** Rows stored for a device, heartbeats left out. */
    async storedEvents(deviceId) {
      const rows = await server.app.context.db
        .selectFrom('events')
        .select('id')
        .where('device_id', '=', deviceId)
        .where('type', '!=', 'device.heartbeat')
        .execute();
      return rows.length;
    },
  };
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

// 1. track() one call at a time, in process, on an enrolled, consented,
// started agent; batches of 800 stay under the 1,000-event memory queue and
// are flushed to the real server outside the timed region.
async function trackCost(backend) {
  const { stateDir } = await backend.enrolledStateDir();
  const agent = await createAgent({ stateDir });
  await agent.start();
  const perRound = 800;
  const rounds = 64;
  const samples = new Float64Array(perRound * rounds);
  const clockOnly = new Float64Array(perRound * rounds);
  let n = 0;
  let refused = 0;
  for (let r = -8; r < rounds; r++) {
    for (let i = 0; i < perRound; i++) {
      const data = dataOf(n + i);
      const t0 = process.hrtime.bigint();
      const result = agent.track(TYPE, data);
      const t1 = process.hrtime.bigint();
      const c0 = process.hrtime.bigint();
      const c1 = process.hrtime.bigint();
      if (result.status !== 'queued') refused++;
      if (r >= 0) {
        samples[r * perRound + i] = Number(t1 - t0);
        clockOnly[r * perRound + i] = Number(c1 - c0);
      }
    }
    if (r >= 0) n += perRound;
    await agent.flush();
  }
  await agent.shutdown();
  samples.sort();
  clockOnly.sort();
  return [
    {
      operation: `agent.track('${TYPE}', {app, pid})`,
      calls: fmt(samples.length),
      'median ns': fmt(percentile(samples, 0.5)),
      'p90 ns': fmt(percentile(samples, 0.9)),
      'p99 ns': fmt(percentile(samples, 0.99)),
      'max ns': fmt(samples[samples.length - 1]),
      refused,
    },
    {
      operation: 'two hrtime.bigint() calls, nothing between (clock cost, baseline)',
      calls: fmt(clockOnly.length),
      'median ns': fmt(percentile(clockOnly, 0.5)),
      'p90 ns': fmt(percentile(clockOnly, 0.9)),
      'p99 ns': fmt(percentile(clockOnly, 0.99)),
      'max ns': fmt(clockOnly[clockOnly.length - 1]),
      refused: '',
    },
  ];
}

// 2. track → sealed 500-event frames on one core (child pinned with taskset).
async function sealedThroughput(backend) {
  const composed = await runWorkload('sealedComposed', { events: 200_000 }, { pinned: true });
  const shm = existsSync('/dev/shm') ? '/dev/shm' : undefined;
  const { stateDir } = await backend.enrolledStateDir(shm);
  const agentRun = await runWorkload(
    'sealedAgent',
    {
      stateDir,
      serverIdentityPath: join(backend.dataDir, 'server-identity.json'),
      events: 100_000,
    },
    { pinned: true },
  );
  const pin = TASKSET ? '1 CPU (taskset)' : 'not pinned';
  return [
    {
      path: 'core composed as the agent does: validate, envelope, JSON, queue, 500-event batch, sealMessage, body',
      events: fmt(composed.events),
      'events/s': fmt((composed.events * 1000) / composed.ms),
      'CPU/wall': (composed.cpuMs / composed.ms).toFixed(2),
      cpu: pin,
    },
    {
      path: `agent.track + agent.flush (spool on ${shm ?? 'tmpdir'}: encrypt, write, fsync, read back, seal), the sink's own time removed`,
      events: fmt(agentRun.events),
      'events/s': fmt((agentRun.events * 1000) / (agentRun.ms - agentRun.sinkMs)),
      'CPU/wall': (agentRun.cpuMs / agentRun.ms).toFixed(2),
      cpu: pin,
    },
    {
      path: `same, sink included (it opens each frame; answering the ${agentRun.requests} requests alone takes ${fmt(agentRun.sinkMs)} ms, the run ${fmt(agentRun.ms)} ms)`,
      events: fmt(agentRun.events),
      'events/s': fmt((agentRun.events * 1000) / agentRun.ms),
      'CPU/wall': (agentRun.cpuMs / agentRun.ms).toFixed(2),
      cpu: pin,
    },
  ];
}

// 3 + 4. A live agent against the real server: idle 10 s, 10 events/s for
// BENCH_AGENT_WARM_SECONDS (warm-up, reported apart) and then BENCH_AGENT_CPU_SECONDS,
// 1,000 events/s for 10 s.
async function liveAgent(backend) {
  const { stateDir, deviceId } = await backend.enrolledStateDir();
  // The same 10-per-second pacing loop with no agent, in its own process alongside: waking a
  // Node process ten times a second costs CPU of its own, which is the harness's, not the agent's.
  const pacingBaseline = runWorkload(
    'pacingBaseline',
    { cpuMs: CPU_SECONDS * 1000 },
    { timeoutMs: (CPU_SECONDS + 30) * 1000 },
  );
  const live = await runWorkload(
    'live',
    {
      stateDir,
      idleMs: 10_000,
      warmMs: WARM_SECONDS * 1000,
      cpuMs: CPU_SECONDS * 1000,
      loadMs: 10_000,
    },
    { timeoutMs: (WARM_SECONDS + CPU_SECONDS + 90) * 1000 },
  );
  const baseline = await pacingBaseline;
  const stored = await backend.storedEvents(deviceId);
  const tracked = live.warmTracked + live.slowTracked + live.loadTracked;
  return [
    {
      measure: 'RSS right after start()',
      value: `${live.rssAfterStart.toFixed(1)} MB`,
      target: '',
    },
    { measure: 'RSS after 10 s idle', value: `${live.rssIdle.toFixed(1)} MB`, target: '≤ 40 MB' },
    {
      measure: `CPU at 10 events/s, first ${live.warmSeconds.toFixed(0)} s (warm-up: V8 compiles the flush path)`,
      value: `${live.warmCpuPercent.toFixed(2)}%`,
      target: '',
    },
    {
      measure: `CPU at 10 events/s, the next ${live.cpuSeconds.toFixed(0)} s (${live.slowTracked} events), whole process`,
      value: `${live.cpuPercent.toFixed(2)}%`,
      target: '',
    },
    {
      measure: `the same pacing loop without an agent, ${baseline.cpuSeconds.toFixed(0)} s (baseline process)`,
      value: `${baseline.cpuPercent.toFixed(2)}%`,
      target: '',
    },
    {
      measure: 'CPU the agent adds at 10 events/s (whole process − baseline)',
      value: `${(live.cpuPercent - baseline.cpuPercent).toFixed(2)}%`,
      target: '≤ 0.5%',
    },
    {
      measure: `CPU at 1,000 events/s over ${live.loadSeconds.toFixed(0)} s (${fmt(live.loadTracked)} events)`,
      value: `${live.loadCpuPercent.toFixed(1)}%`,
      target: '',
    },
    {
      measure: 'peak RSS at 1,000 events/s (VmRSS every 100 ms)',
      value: `${live.peakRss.toFixed(1)} MB`,
      target: '',
    },
    { measure: 'VmHWM at exit (lifetime peak)', value: `${live.hwm.toFixed(1)} MB`, target: '' },
    {
      measure: 'events stored by the server / tracked',
      value: `${fmt(stored)} / ${fmt(tracked)}`,
      target: 'all',
    },
    {
      measure: 'left in the spool at exit (shutdown spools what it did not send)',
      value: `${fmt(live.spool.files)} files, ${(live.spool.bytes / 1024).toFixed(0)} KiB`,
      target: '',
    },
    {
      measure: 'drops counted by the agent',
      value:
        Object.entries(live.drops)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none',
      target: '',
    },
  ];
}

// A local sink for the peers: accepts anything, answers 200 with what each
// SDK expects, and counts the events of every batch it receives.
async function startSink() {
  const stats = { requests: 0, events: 0, lastAt: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      let count = 0;
      try {
        const parsed = JSON.parse(body.toString('utf8'));
        count = Array.isArray(parsed.batch) ? parsed.batch.length : 0;
      } catch {}
      stats.requests++;
      stats.events += count;
      stats.lastAt = Date.now();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url.startsWith('/batch') ? '{"status":1}' : '{"success":true}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    reset() {
      Object.assign(stats, { requests: 0, events: 0, lastAt: 0 });
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

// One row of the burst table from what a sink counted and what the workload reported.
function deliveredToSink(sdk, sink, stats, workload) {
  const seconds = (stats.lastAt - workload.firstCaptureAt) / 1000;
  return {
    sdk,
    sink,
    delivered: stats.events,
    'events/s': stats.events / seconds,
    seconds,
    requests: stats.requests,
    rss: workload.peakRss,
  };
}

// 5. 50,000 events in a tight loop through each SDK, one at a time.
async function peers(backend) {
  const sink = await startSink();
  const rows = [];
  try {
    for (const [name, mode] of [
      ['posthog-node 5.70.0', 'burstPosthog'],
      ['@segment/analytics-node 3.1.0', 'burstSegment'],
    ]) {
      sink.reset();
      const r = await runWorkload(mode, { sinkUrl: sink.url, events: BURST });
      rows.push(deliveredToSink(name, 'local node:http sink', sink.stats, r));
    }
  } finally {
    await sink.close();
  }
  // The same role as the peers' sink: it answers what the agent expects (it opens each
  // frame to do so) and stores nothing.
  const toSink = await backend.enrolledStateDir();
  const fieldlineSink = await startFieldlineSink(
    sinkParties({
      serverIdentityPath: join(backend.dataDir, 'server-identity.json'),
      stateDir: toSink.stateDir,
    }),
  );
  let sinkRow;
  try {
    const r = await runWorkload('burstFieldline', {
      stateDir: toSink.stateDir,
      events: BURST,
      sinkUrl: fieldlineSink.url,
    });
    sinkRow = deliveredToSink(
      '@fieldline/agent-sdk',
      'local node:http sink (opens each frame)',
      fieldlineSink.stats,
      r,
    );
  } finally {
    await fieldlineSink.close();
  }

  const { stateDir, deviceId } = await backend.enrolledStateDir();
  const f = await runWorkload('burstFieldline', { stateDir, events: BURST });
  const stored = await backend.storedEvents(deviceId);
  const seconds = (f.lastDeliveryAt - f.firstCaptureAt) / 1000;
  const fieldline = {
    sdk: '@fieldline/agent-sdk',
    sink: PG_URL
      ? 'reference server (PostgreSQL), rows stored'
      : 'reference server (PGlite), rows stored',
    delivered: stored,
    'events/s': stored / seconds,
    seconds,
    requests: f.requests,
    rss: f.peakRss,
  };
  const faster = rows.reduce((a, b) => (b['events/s'] > a['events/s'] ? b : a));
  const table = [...rows, sinkRow, fieldline].map((row) => ({
    sdk: row.sdk,
    'delivered to': row.sink,
    delivered: `${fmt(row.delivered)} / ${fmt(BURST)}`,
    'delivered events/s': fmt(row['events/s']),
    'first capture → last delivery': `${row.seconds.toFixed(2)} s`,
    requests: fmt(row.requests),
    'peak RSS (VmHWM)': `${row.rss.toFixed(0)} MB`,
  }));
  for (const [what, row] of [
    ['to a sink, like the peers', sinkRow],
    ['stored by the server', fieldline],
  ]) {
    table.push({
      sdk: `Fieldline ${what} vs the faster peer (${faster.sdk})`,
      'delivered events/s': `${(row['events/s'] / faster['events/s']).toFixed(2)}× (target ≥ 10×)`,
      'peak RSS (VmHWM)': `${(row.rss / faster.rss).toFixed(2)}× (target ≤ 0.25×)`,
    });
  }
  return { table, refused: f.refused, capture: (f.capturedAt - f.firstCaptureAt) / 1000 };
}

// BENCH_AGENT_SECTIONS=peers (or any of track,sealed,live,peers) runs only those.
const SECTIONS = new Set(
  (process.env.BENCH_AGENT_SECTIONS ?? 'track,sealed,live,peers').split(',').map((x) => x.trim()),
);

export async function run() {
  let backend;
  try {
    backend = await startBackend();
    if (SECTIONS.has('track'))
      printTable(
        'agent — track() cost, one call timed at a time (enrolled, consented, started; 800 per batch, flushed untimed)',
        ['operation', 'calls', 'median ns', 'p90 ns', 'p99 ns', 'max ns', 'refused'],
        await trackCost(backend),
      );
    if (SECTIONS.has('sealed'))
      printTable(
        'agent — sustained events/s into sealed 500-event batches, one core, no network',
        ['path', 'events', 'events/s', 'CPU/wall', 'cpu'],
        await sealedThroughput(backend),
      );
    if (SECTIONS.has('live'))
      printTable(
        'agent — a live agent in its own process against the real server (in the parent)',
        ['measure', 'value', 'target'],
        await liveAgent(backend),
      );
    if (!SECTIONS.has('peers')) return;
    const peer = await peers(backend);
    printTable(
      `agent — ${fmt(BURST)} events captured in a tight loop, each SDK in its own process, then shutdown/flush (same run)`,
      [
        'sdk',
        'delivered to',
        'delivered',
        'delivered events/s',
        'first capture → last delivery',
        'requests',
        'peak RSS (VmHWM)',
      ],
      peer.table,
    );
    console.log(
      `\nFieldline capture loop: ${peer.capture.toFixed(2)} s for ${fmt(BURST)} track() calls, ${peer.refused} refused.`,
    );
  } finally {
    killChildren();
    await backend?.server.stop();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
  }
}
