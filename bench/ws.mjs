// Real-time bench: N authenticated agents hold sockets to one reference-server
// process (PostgreSQL); we measure the server's RSS per connection, command
// delivery latency (admin POST → command opened at the device) and a broadcast
// to every device. In the same run, a bare `ws` echo server with the same
// number of sockets is the baseline, so the gateway's overhead is a ratio.
// Prints tables; asserts nothing.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  acceptSessionOffer,
  commandBoxAad,
  createHelloFrame,
  generateIdentity,
  publicKeysOf,
} from '@fieldline/core';
import pg from 'pg';
import WebSocket from 'ws';
import { fmt, printTable } from './harness.mjs';
import { freePort, rssMb, startServerProcess } from './server-process.mjs';

const PG_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const AGENTS = Number(process.env.BENCH_WS_AGENTS ?? 10_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_WS_SAMPLES ?? 300);
const ADMIN = `fl_admin_bench_${randomBytes(12).toString('hex')}`;
// Below the gateway's per-source cap of pending handshakes (64): every bench socket comes from
// 127.0.0.1, and a batch waits for all its welcomes before the next one opens.
const CONNECT_CONCURRENCY = 50;

const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function waitFor(test, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function settleRss(pid) {
  // Let the GC catch up so RSS reflects what the connections keep, not garbage.
  await new Promise((r) => setTimeout(r, 3_000));
  return rssMb(pid);
}

// ---------------------------------------------------------------- baseline

const ECHO_SERVER = `
const { WebSocketServer } = require(${JSON.stringify(require_resolve('ws'))});
const wss = new WebSocketServer({ port: Number(process.argv[1]), host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const text = data.toString();
    if (text === 'broadcast') { for (const client of wss.clients) client.send('all'); return; }
    socket.send(text);
  });
});
setInterval(() => { for (const client of wss.clients) client.ping(); }, 25000);
process.send('ready');
`;

function require_resolve(name) {
  return new URL(`../node_modules/${name}/index.js`, import.meta.url).pathname;
}

async function openMany(count, open) {
  const sockets = [];
  for (let start = 0; start < count; start += CONNECT_CONCURRENCY) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + CONNECT_CONCURRENCY); i++) batch.push(open(i));
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

async function baseline() {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', ECHO_SERVER, String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((r) => child.once('message', r));
  const idle = await settleRss(child.pid);
  const started = performance.now();
  const sockets = await openMany(
    AGENTS,
    () =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      }),
  );
  const connectSeconds = (performance.now() - started) / 1000;
  const loaded = await settleRss(child.pid);

  const latencies = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const socket = sockets[(i * 7919) % sockets.length];
    const t0 = performance.now();
    await new Promise((resolve) => {
      socket.once('message', resolve);
      socket.send(`echo-${i}`);
    });
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);

  let received = 0;
  for (const socket of sockets) socket.on('message', (d) => d.toString() === 'all' && received++);
  const b0 = performance.now();
  sockets[0].send('broadcast');
  await waitFor(() => received >= sockets.length, 60_000, 'baseline broadcast');
  const broadcastMs = performance.now() - b0;

  for (const socket of sockets) socket.terminate();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return {
    connectSeconds,
    idle,
    loaded,
    perConnectionKb: ((loaded - idle) * 1024) / AGENTS,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    broadcastMs,
  };
}

// ---------------------------------------------------------------- Fieldline

async function admin(url, path, body) {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status >= 300)
    throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

// The key every agent pins: learned the way an agent does, by enrolling (a device of its own
// tenant, so it takes no part in the broadcast).
async function pinnedServerSigningKey(url) {
  const { token } = await admin(url, '/v1/admin/install-tokens', { tenant: 'bench-probe' });
  const response = await fetch(`${url}/v1/enroll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      hostname: 'bench-probe',
      os: 'linux',
      arch: 'x64',
      publicKeys: publicKeysOf(await generateIdentity()),
    }),
  });
  const body = await response.json();
  if (response.status >= 300) throw new Error(`enroll: ${response.status} ${JSON.stringify(body)}`);
  return body.serverPublicKeys.signingPublicKey;
}

// Devices are written straight into the schema: enrolling 10,000 over HTTP
// would measure enrollment, which is not what this bench is about.
async function insertDevices(client, count) {
  await client.query(`insert into tenants (id) values ('bench') on conflict do nothing`);
  const devices = [];
  for (let i = 0; i < count; i++) {
    const identity = await generateIdentity();
    devices.push({ id: `dev_bench_${i}_${randomUUID().slice(0, 8)}`, identity });
  }
  for (let start = 0; start < devices.length; start += 1_000) {
    const chunk = devices.slice(start, start + 1_000);
    const values = [];
    const params = [];
    chunk.forEach((device, index) => {
      const keys = publicKeysOf(device.identity);
      params.push(device.id, keys.signingPublicKey, keys.encryptionPublicKey);
      const p = index * 3;
      values.push(`($${p + 1}, 'bench', 'bench', 'linux', 'x64', $${p + 2}, $${p + 3})`);
    });
    await client.query(
      `insert into devices (id, tenant_id, hostname, os, arch, signing_public_key, encryption_public_key) values ${values.join(',')}`,
      params,
    );
  }
  return devices;
}

async function fieldline() {
  const adminClient = new pg.Client({ connectionString: PG_URL });
  await adminClient.connect();
  const schema = `fl_bench_ws_${randomBytes(5).toString('hex')}`;
  await adminClient.query(`create schema ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const server = await startServerProcess({ adminToken: ADMIN, databaseUrl: url.toString() });
  try {
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    const devices = await insertDevices(db, AGENTS);
    await db.end();
    const serverSigningPublicKey = await pinnedServerSigningKey(server.url);
    const idle = await settleRss(server.pid);

    const wsUrl = `${server.url.replace('http', 'ws')}/v1/ws`;
    const commandSeenAt = new Map();
    const started = performance.now();
    const sockets = await openMany(
      devices.length,
      (i) =>
        new Promise((resolve, reject) => {
          const device = devices[i];
          const socket = new WebSocket(wsUrl, { perMessageDeflate: false });
          let hello;
          let session;
          // Like an agent: sign the connection's challenge, check the session offer, then open
          // every box in arrival order; a command counts as delivered once opened.
          socket.on('message', (data) => {
            const frame = JSON.parse(data.toString());
            if (frame.kind === 'challenge') {
              hello = createHelloFrame(device.id, device.identity, frame.challenge);
              socket.send(JSON.stringify(hello));
            } else if (frame.kind === 'welcome') {
              const accepted = acceptSessionOffer({
                device: device.identity,
                deviceId: device.id,
                nonce: hello.nonce,
                offer: frame.session,
                serverSigningPublicKey,
              });
              if (!accepted.ok) reject(accepted.error);
              session = accepted.value;
              resolve(socket);
            } else if (frame.kind === 'command') {
              session.open(frame.box, commandBoxAad(frame.id)).then((opened) => {
                if (!opened.ok) throw opened.error;
                commandSeenAt.set(frame.id, performance.now());
                socket.send(JSON.stringify({ kind: 'ack', id: frame.id, status: 'acked' }));
              });
            } else if (frame.kind === 'error') reject(new Error(`${device.id}: ${frame.code}`));
          });
          socket.once('error', reject);
        }),
    );
    const connectSeconds = (performance.now() - started) / 1000;
    const loaded = await settleRss(server.pid);

    const latencies = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const device = devices[(i * 7919) % devices.length];
      const t0 = performance.now();
      const { id } = await admin(server.url, `/v1/admin/devices/${device.id}/commands`, {
        type: 'ping',
      });
      await waitFor(() => commandSeenAt.has(id), 10_000, `command ${id}`);
      latencies.push(commandSeenAt.get(id) - t0);
    }
    latencies.sort((a, b) => a - b);

    // Broadcast: ids are minted by the server, so count frames that arrive after the POST.
    commandSeenAt.clear();
    const b0 = performance.now();
    const broadcast = await admin(server.url, '/v1/admin/commands/broadcast', {
      tenant: 'bench',
      type: 'ping',
    });
    const postedMs = performance.now() - b0;
    const ids = new Set(broadcast.ids);
    await waitFor(
      () => [...ids].every((id) => commandSeenAt.has(id)),
      120_000,
      'broadcast to every agent',
    );
    const arrivals = [...ids].map((id) => commandSeenAt.get(id) - b0).sort((a, b) => a - b);
    const broadcastMs = arrivals.at(-1);
    if (process.env.BENCH_WS_DEBUG) {
      console.log(
        `broadcast: POST answered ${postedMs.toFixed(0)} ms; first ${arrivals[0].toFixed(0)}, median ${arrivals[arrivals.length >> 1].toFixed(0)}, last ${broadcastMs.toFixed(0)} ms`,
      );
    }
    const peak = rssMb(server.pid);

    for (const socket of sockets) socket.terminate();
    return {
      connectSeconds,
      idle,
      loaded,
      peak,
      perConnectionKb: ((loaded - idle) * 1024) / AGENTS,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      broadcastMs,
      broadcastCount: broadcast.count,
    };
  } finally {
    await server.stop();
    await adminClient.query(`drop schema ${schema} cascade`);
    await adminClient.end();
  }
}

export async function run() {
  const base = await baseline();
  const ours = await fieldline();
  printTable(
    `ws — ${fmt(AGENTS)} concurrent sockets on one server process (loopback, clients in the bench process)`,
    [
      'server',
      'connect all s',
      'RSS idle MB',
      'RSS connected MB',
      'KB per connection',
      'vs bare ws',
    ],
    [
      {
        server: 'bare ws echo (baseline)',
        'connect all s': base.connectSeconds.toFixed(1),
        'RSS idle MB': fmt(base.idle),
        'RSS connected MB': fmt(base.loaded),
        'KB per connection': base.perConnectionKb.toFixed(1),
        'vs bare ws': '1.00×',
      },
      {
        server: 'Fieldline gateway (signed hello, sessions, presence)',
        'connect all s': ours.connectSeconds.toFixed(1),
        'RSS idle MB': fmt(ours.idle),
        'RSS connected MB': fmt(ours.loaded),
        'KB per connection': ours.perConnectionKb.toFixed(1),
        'vs bare ws': `${(ours.perConnectionKb / base.perConnectionKb).toFixed(2)}×`,
      },
    ],
  );
  printTable(
    'ws — delivery latency and broadcast',
    ['server', 'what', 'p50 ms', 'p99 ms', `broadcast to all ms`],
    [
      {
        server: 'bare ws echo (baseline)',
        what: 'echo round trip',
        'p50 ms': base.p50.toFixed(2),
        'p99 ms': base.p99.toFixed(2),
        'broadcast to all ms': fmt(base.broadcastMs),
      },
      {
        server: 'Fieldline gateway',
        what: 'admin POST → command opened at the agent',
        'p50 ms': ours.p50.toFixed(2),
        'p99 ms': ours.p99.toFixed(2),
        'broadcast to all ms': `${fmt(ours.broadcastMs)} (${fmt(ours.broadcastCount)} durable commands, peak RSS ${fmt(ours.peak)} MB)`,
      },
    ],
  );
}
