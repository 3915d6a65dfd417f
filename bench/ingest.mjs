import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { generateIdentity, publicKeysOf, SealKind, sealJson } from '@fieldline/core';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { makeEvents } from './fixtures.mjs';
import { fmt, printTable } from './harness.mjs';
import { rssMb, startServerProcess } from './server-process.mjs';

const PG_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const ADMIN = `fl_admin_bench_${randomBytes(12).toString('hex')}`;
const BATCH = 500;
const DEVICES = Number(process.env.BENCH_DEVICES ?? 8);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 12_000);

async function request(url, { method = 'GET', token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
}

/** Enrolls `count` devices in tenant `bench` and grants their consent; `admin` is the admin token. */
export async function enrollDevices(url, count, admin = ADMIN) {
  const { body: token } = await request(`${url}/v1/admin/install-tokens`, {
    method: 'POST',
    token: admin,
    body: { tenant: 'bench', ttlSeconds: 3600 },
  });
  await request(`${url}/v1/admin/policies`, {
    method: 'POST',
    token: admin,
    body: { tenant: 'bench', version: 1, scopes: ['activity', 'network'], text: 'Bench policy.' },
  });
  const devices = [];
  for (let i = 0; i < count; i++) {
    const { body: t } =
      i === 0
        ? { body: token }
        : await request(`${url}/v1/admin/install-tokens`, {
            method: 'POST',
            token: admin,
            body: { tenant: 'bench' },
          });
    const identity = await generateIdentity();
    const enrolled = await request(`${url}/v1/enroll`, {
      method: 'POST',
      token: t.token,
      body: {
        hostname: `bench-${i}`,
        os: 'linux',
        arch: 'x64',
        publicKeys: publicKeysOf(identity),
      },
    });
    if (enrolled.status !== 201) throw new Error(`enroll failed: ${JSON.stringify(enrolled.body)}`);
    const granted = await request(`${url}/v1/admin/devices/${enrolled.body.deviceId}/consent`, {
      method: 'POST',
      token: admin,
      body: { action: 'grant' },
    });
    if (granted.status !== 200) throw new Error(`grant failed: ${JSON.stringify(granted.body)}`);
    devices.push({ identity, ...enrolled.body });
  }
  return devices;
}

/** A sealed `POST /v1/events` body carrying `events` from `device`. */
export async function sealedBatch(device, events) {
  const frame = await sealJson({
    kind: SealKind.EventBatch,
    senderId: device.deviceId,
    messageId: randomUUID(),
    timestampMs: Date.now(),
    payload: { batchId: randomUUID(), sentAt: new Date().toISOString(), events },
    recipientEncryptionPublicKey: device.serverPublicKeys.encryptionPublicKey,
    sender: device.identity,
  });
  return JSON.stringify({ sealed: Buffer.from(frame).toString('base64url') });
}

/**
 * POSTs a sealed batch. A keep-alive connection left idle while the batches were sealed can be
 * closed by the server just as it is reused; such a send (no response at all) is tried once more.
 */
export async function postBatch(url, device, body) {
  const send = () =>
    fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${device.deviceToken}`,
      },
      body,
    });
  try {
    return await send();
  } catch (error) {
    if (error?.cause?.code !== 'UND_ERR_SOCKET') throw error;
    return send();
  }
}

// Every device posts its own pre-sealed batches back to back (or paced to
// `targetEventsPerSecond` in total) until the duration is up.
async function drive(url, devices, { durationMs, targetEventsPerSecond }) {
  const perDevice =
    Math.ceil(((targetEventsPerSecond ?? 40_000) * durationMs) / 1000 / BATCH / devices.length) + 2;
  const queues = [];
  for (const device of devices) {
    const bodies = [];
    for (let i = 0; i < perDevice; i++) bodies.push(await sealedBatch(device, makeEvents(BATCH)));
    queues.push(bodies);
  }
  const latencies = [];
  let accepted = 0;
  let failures = 0;
  const start = performance.now();
  const intervalMs = targetEventsPerSecond
    ? (BATCH * devices.length * 1000) / targetEventsPerSecond
    : 0;
  await Promise.all(
    devices.map(async (device, d) => {
      for (let i = 0; performance.now() - start < durationMs && i < queues[d].length; i++) {
        if (intervalMs) {
          const due = start + i * intervalMs + (d * intervalMs) / devices.length;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const t0 = performance.now();
        const response = await postBatch(url, device, queues[d][i]);
        const result = await response.json();
        latencies.push(performance.now() - t0);
        if (response.status === 200) accepted += result.accepted;
        else failures++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ??
    Number.NaN;
  return {
    eventsPerSecond: (accepted * 1000) / elapsed,
    p50: pct(50),
    p99: pct(99),
    requests: latencies.length,
    failures,
  };
}

async function measureServer(server, fn) {
  const ticks0 = cpuTicks(server.pid);
  const t0 = performance.now();
  let peakRss = rssMb(server.pid);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(server.pid));
  }, 200);
  const result = await fn();
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = ((cpuTicks(server.pid) - ticks0) / 100 / seconds) * 100; // USER_HZ = 100
  return { ...result, cpu, peakRss };
}

async function rawPostgres(schema) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`set search_path = ${schema}`);
  const rows = (n) =>
    makeEvents(n).map((e) => [
      e.id,
      'bench',
      'dev_raw',
      e.type,
      e.scope,
      e.seq,
      e.occurredAt,
      new Date().toISOString(),
      JSON.stringify(e.data),
    ]);
  const total = 50_000;
  // Multi-row INSERT … ON CONFLICT DO NOTHING, 500 rows per statement.
  let t0 = performance.now();
  for (let done = 0; done < total; done += BATCH) {
    const batch = rows(BATCH);
    const values = batch
      .map((_, i) => `(${Array.from({ length: 9 }, (__, j) => `$${i * 9 + j + 1}`).join(',')})`)
      .join(',');
    await client.query(
      `insert into events (id, tenant_id, device_id, type, scope, seq, occurred_at, received_at, data) values ${values} on conflict (id) do nothing`,
      batch.flat(),
    );
  }
  const insertRate = (total * 1000) / (performance.now() - t0);
  // COPY of the same shape of rows.
  const copyRowsText = () =>
    `${rows(BATCH)
      .map((r) =>
        r
          .map((v) => String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'))
          .join('\t'),
      )
      .join('\n')}\n`;
  t0 = performance.now();
  for (let done = 0; done < total; done += BATCH) {
    const stream = client.query(
      copyStreams.from(
        'copy events (id, tenant_id, device_id, type, scope, seq, occurred_at, received_at, data) from stdin',
      ),
    );
    await pipeline(Readable.from([copyRowsText()]), stream);
  }
  const copyRate = (total * 1000) / (performance.now() - t0);
  await client.end();
  return { insertRate, copyRate };
}

export async function run() {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const schema = `fl_bench_${randomBytes(5).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  const rows = [];
  try {
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const server = await startServerProcess({ adminToken: ADMIN, databaseUrl: url.toString() });
    let saturated;
    let paced;
    try {
      const devices = await enrollDevices(server.url, DEVICES);
      saturated = await measureServer(server, () =>
        drive(server.url, devices, { durationMs: DURATION_MS }),
      );
      paced = await measureServer(server, () =>
        drive(server.url, devices, { durationMs: DURATION_MS, targetEventsPerSecond: 10_000 }),
      );
    } finally {
      await server.stop();
    }
    const raw = await rawPostgres(schema);
    rows.push(
      {
        run: `PostgreSQL, ${DEVICES} devices flat out`,
        'events/s stored': fmt(saturated.eventsPerSecond),
        'vs raw INSERT': `${((saturated.eventsPerSecond / raw.insertRate) * 100).toFixed(0)}%`,
        'p50 ms': saturated.p50.toFixed(1),
        'p99 ms': saturated.p99.toFixed(1),
        'server CPU%': saturated.cpu.toFixed(0),
        'server RSS MB': saturated.peakRss.toFixed(0),
        errors: saturated.failures,
      },
      {
        run: 'PostgreSQL, paced at 10,000 events/s',
        'events/s stored': fmt(paced.eventsPerSecond),
        'vs raw INSERT': '',
        'p50 ms': paced.p50.toFixed(1),
        'p99 ms': paced.p99.toFixed(1),
        'server CPU%': paced.cpu.toFixed(0),
        'server RSS MB': paced.peakRss.toFixed(0),
        errors: paced.failures,
      },
      {
        run: 'raw 500-row INSERT … ON CONFLICT DO NOTHING (1 conn)',
        'events/s stored': fmt(raw.insertRate),
        'vs raw INSERT': '100%',
      },
      {
        run: 'raw COPY, 500-row chunks (1 conn)',
        'events/s stored': fmt(raw.copyRate),
        'vs raw INSERT': `${((raw.copyRate / raw.insertRate) * 100).toFixed(0)}%`,
      },
    );
  } finally {
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
  const embedded = await startServerProcess({ adminToken: ADMIN });
  try {
    const devices = await enrollDevices(embedded.url, DEVICES);
    const result = await measureServer(embedded, () =>
      drive(embedded.url, devices, { durationMs: DURATION_MS }),
    );
    rows.push({
      run: `embedded PGlite, ${DEVICES} devices flat out`,
      'events/s stored': fmt(result.eventsPerSecond),
      'p50 ms': result.p50.toFixed(1),
      'p99 ms': result.p99.toFixed(1),
      'server CPU%': result.cpu.toFixed(0),
      'server RSS MB': result.peakRss.toFixed(0),
      errors: result.failures,
    });
  } finally {
    await embedded.stop();
  }
  printTable(
    `ingest — sealed batches of ${BATCH} events over loopback (decrypt, verify, validate, consent, dedup, store)`,
    [
      'run',
      'events/s stored',
      'vs raw INSERT',
      'p50 ms',
      'p99 ms',
      'server CPU%',
      'server RSS MB',
      'errors',
    ],
    rows,
  );
}
