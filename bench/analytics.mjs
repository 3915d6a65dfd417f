// `npm run bench -- analytics`: the reports API over a realistic history, ingest with the
// analytics consumer on and off, consumer lag at a steady rate, the outbox relay to NATS
// JetStream, and webhook deliveries — each beside its baseline, in one run.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateIdentity, publicKeysOf } from '@fieldline/core';
import { createDatabase, createOutboxStream } from '@fieldline/server-sdk';
import { deviceTimeline } from './activity-timeline.mjs';
import { fmt, printTable } from './harness.mjs';
import { postBatch, sealedBatch } from './ingest.mjs';
import { withSchema } from './pg-schema.mjs';
import { rssMb, startServerProcess, startWorkerProcess } from './server-process.mjs';

const PG_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const ADMIN = `fl_admin_bench_${randomBytes(12).toString('hex')}`;
const DEVICES = Number(process.env.BENCH_ANALYTICS_DEVICES ?? 1000);
const HISTORY_DAYS = 90;
const WINDOWS = Number(process.env.BENCH_ANALYTICS_WINDOWS ?? 30);
const REAL_DEVICES = 20;
const DAY_MS = 86_400_000;

async function request(url, { method = 'GET', token = ADMIN, body } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

/** Enrolls `count` devices in `tenant` with consent granted, `parallel` at a time. */
async function enrollFleet(url, tenant, count, parallel = 16) {
  await request(`${url}/v1/admin/policies`, {
    method: 'POST',
    body: { tenant, version: 1, scopes: ['activity', 'network'], text: 'Bench policy.' },
  });
  const devices = [];
  let next = 0;
  const enrollOne = async (i) => {
    const token = await request(`${url}/v1/admin/install-tokens`, {
      method: 'POST',
      body: { tenant, ttlSeconds: 3600 },
    });
    const identity = await generateIdentity();
    const enrolled = await request(`${url}/v1/enroll`, {
      method: 'POST',
      token: token.body.token,
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
      body: { action: 'grant' },
    });
    if (granted.status !== 200) throw new Error(`grant failed: ${JSON.stringify(granted.body)}`);
    devices[i] = { identity, ...enrolled.body };
  };
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await enrollOne(next++);
    }),
  );
  return devices;
}

/** Sends each device's events in sealed batches of `batch`, devices in parallel. */
async function sendTimelines(url, devices, timelines, batch = 500) {
  let accepted = 0;
  await Promise.all(
    devices.map(async (device, d) => {
      const events = timelines[d];
      for (let i = 0; i < events.length; i += batch) {
        const response = await postBatch(
          url,
          device,
          await sealedBatch(device, events.slice(i, i + batch)),
        );
        const result = await response.json();
        if (response.status !== 200) throw new Error(`batch refused: ${JSON.stringify(result)}`);
        accepted += result.accepted;
      }
    }),
  );
  return accepted;
}

/** The consumer's lag from `/metrics`: records behind and age of the oldest, in seconds. */
export async function consumerLag(url, consumer = 'analytics') {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name) => {
    const match = new RegExp(`^${name}\\{consumer="${consumer}"\\} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : Number.NaN;
  };
  return {
    records: read('fieldline_stream_consumer_lag_records'),
    seconds: read('fieldline_stream_consumer_lag_seconds'),
  };
}

/** CPU time every process of the machine has used so far, in seconds (/proc/stat, 100 Hz). */
function machineCpuSeconds() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Waits until the analytics consumer has caught up; returns how long that took, in ms. */
export async function waitForConsumer(url, timeoutMs = 600_000) {
  const started = performance.now();
  for (;;) {
    const lag = await consumerLag(url);
    if (lag.records === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error('the consumer did not catch up');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const sumOf = (rows = [], field) => rows.reduce((n, row) => n + (row[field] ?? 0), 0);

/** Fills 90+ days of synthetic daily rows for every device (20 apps and the device row). */
async function synthesizeHistory(client, tenant, fromDay, toDay) {
  const t0 = performance.now();
  await client.query(
    `insert into aggregates (tenant_id, device_id, day, app, active_ms, idle_ms, launches, bytes_in, bytes_out)
     select $1, d.id, day::date, a.app,
       case when a.app = '' then 0 else 60000 + (abs(hashtext(d.id || day::text || a.app)) % 3600000) end,
       case when a.app = '' then 600000 + (abs(hashtext(d.id || day::text)) % 3600000) else 0 end,
       case when a.app = '' then 0 else abs(hashtext(a.app || d.id)) % 5 end,
       case when a.app = '' then abs(hashtext(day::text || d.id)) % 1000000000 else 0 end,
       case when a.app = '' then abs(hashtext(d.id || day::text)) % 100000000 else 0 end
     from devices d
     cross join generate_series($2::date, $3::date, interval '1 day') as day
     cross join (select '' as app union all select 'app.bench.' || n from generate_series(0, 19) n) a
     where d.tenant_id = $1
     on conflict do nothing`,
    [tenant, fromDay, toDay],
  );
  await client.query('delete from tenant_aggregates where tenant_id = $1', [tenant]);
  await client.query(
    `insert into tenant_aggregates (tenant_id, day, app, devices, active_ms, idle_ms, launches, bytes_in, bytes_out)
     select tenant_id, day, app, count(*), sum(active_ms), sum(idle_ms), sum(launches), sum(bytes_in), sum(bytes_out)
     from aggregates where tenant_id = $1 group by tenant_id, day, app`,
    [tenant],
  );
  // What the consumer keeps per device and day (the reports by device read it).
  await client.query(
    `insert into device_day_totals (tenant_id, device_id, day, active_ms, idle_ms, launches, bytes_in, bytes_out)
     select tenant_id, device_id, day, sum(active_ms), sum(idle_ms), sum(launches), sum(bytes_in), sum(bytes_out)
     from aggregates where tenant_id = $1 group by tenant_id, device_id, day
     on conflict (device_id, day) do update set active_ms = excluded.active_ms, idle_ms = excluded.idle_ms,
       launches = excluded.launches, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out`,
    [tenant],
  );
  await client.query('analyze');
  const { rows } = await client.query('select count(*)::int as n from aggregates');
  return { rows: rows[0].n, seconds: (performance.now() - t0) / 1000 };
}

async function timeRequests(paths, url) {
  const times = [];
  for (const path of paths) {
    const t0 = performance.now();
    const response = await fetch(`${url}${path}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  return { p50: pct(50), p99: pct(99), n: times.length };
}

/** Reports over 90 days × DEVICES devices × 20 apps: synthetic history plus a real slice. */
async function benchReports() {
  return withSchema(PG_URL, async ({ databaseUrl, client }) => {
    const server = await startServerProcess({ adminToken: ADMIN, databaseUrl });
    try {
      const devices = await enrollFleet(server.url, 'bench', DEVICES);
      // The real slice: nine working hours of REAL_DEVICES devices, ingested and aggregated by
      // the consumer. The server dates consent grants itself, so the events start just after the
      // grant (a bench cannot backdate consent) and run into the coming hours.
      const today = Date.parse(isoDay(Date.now()));
      const sliceStart = Date.now() + 1_000;
      const slice = devices.slice(0, REAL_DEVICES);
      const timelines = slice.map((_, d) =>
        deviceTimeline({ fromMs: sliceStart, toMs: sliceStart + 9 * 3_600_000, seed: d + 1 }),
      );
      const t0 = performance.now();
      const stored = await sendTimelines(server.url, slice, timelines);
      const ingestMs = performance.now() - t0;
      const catchUpMs = await waitForConsumer(server.url);
      const history = await synthesizeHistory(
        client,
        'bench',
        isoDay(today - (HISTORY_DAYS + WINDOWS) * DAY_MS),
        isoDay(today - DAY_MS),
      );
      // WINDOWS distinct 90-day ranges, so each request is a cache miss.
      const windows = Array.from({ length: WINDOWS }, (_, k) => ({
        from: isoDay(today - (HISTORY_DAYS - 1 + k) * DAY_MS),
        to: isoDay(today - k * DAY_MS),
      }));
      const device = devices[0].deviceId;
      const activity = (query) =>
        windows.map(
          ({ from, to }) => `/v1/reports/activity?tenant=bench&from=${from}&to=${to}&${query}`,
        );
      const cases = [
        ['activity: tenant, by day and app', activity('groupBy=day,app')],
        ['activity: tenant, by app', activity('groupBy=app')],
        ['activity: tenant, by device', activity('groupBy=device')],
        ['activity: tenant, by device, CSV', activity('groupBy=device&format=csv')],
        ['activity: one device, by day and app', activity(`device=${device}&groupBy=day,app`)],
        ['activity: tenant, by month and app', activity('groupBy=day,app&period=month')],
        [
          'compliance: every device',
          windows.map(
            ({ from, to }) => `/v1/reports/compliance?tenant=bench&from=${from}&to=${to}`,
          ),
        ],
        [
          'audit: tenant',
          windows.map(({ from, to }) => `/v1/reports/audit?tenant=bench&from=${from}&to=${to}`),
        ],
      ];
      const rows = [];
      for (const [name, paths] of cases) {
        const cold = await timeRequests(paths, server.url);
        const cached = await timeRequests(paths.slice(0, 10), server.url);
        rows.push({
          report: name,
          'p50 ms': cold.p50.toFixed(1),
          'p99 ms': cold.p99.toFixed(1),
          'cached p50 ms': cached.p50.toFixed(1),
          requests: cold.n,
        });
      }
      // The real slice, checked: the report's totals for its first device equal what the
      // generator sent (active + idle within the slice's span).
      const check = await request(
        `${server.url}/v1/reports/activity?tenant=bench&device=${slice[0].deviceId}&from=${isoDay(today)}&to=${isoDay(today + DAY_MS)}&groupBy=app`,
      );
      printTable(
        `reports — ${fmt(DEVICES)} devices × ${HISTORY_DAYS} days × 20 apps (${fmt(history.rows)} daily rows on PostgreSQL; ${fmt(stored)} real events from ${REAL_DEVICES} devices ingested in ${(ingestMs / 1000).toFixed(1)} s, aggregated ${(catchUpMs / 1000).toFixed(1)} s after; each request a distinct 90-day range, so a cache miss)`,
        ['report', 'p50 ms', 'p99 ms', 'cached p50 ms', 'requests'],
        rows,
      );
      console.log(
        `  real slice: device ${slice[0].deviceId} shows ${check.body.rows?.length ?? 0} rows, ${fmt(sumOf(check.body.rows, 'activeMs') / 60_000)} active and ${fmt(sumOf(check.body.rows, 'idleMs') / 60_000)} idle minutes over its 540; server RSS ${rssMb(server.pid).toFixed(0)} MB`,
      );
    } finally {
      await server.stop();
    }
  });
}

/**
 * Ingest flat out with the analytics consumer on and off (same events, fresh schemas), then
 * consumer lag at a steady paced rate.
 */
async function benchIngest() {
  const devicesCount = Number(process.env.BENCH_ANALYTICS_INGEST_DEVICES ?? 50);
  const days = Number(process.env.BENCH_ANALYTICS_INGEST_DAYS ?? 4);
  // Consent is dated by the server at the grant, so the events start after both runs' grants.
  const start = Date.now() + 30 * 60_000;
  const timelines = Array.from({ length: devicesCount }, (_, d) =>
    deviceTimeline({ fromMs: start, toMs: start + days * DAY_MS, seed: 100 + d }),
  );
  const total = timelines.reduce((n, t) => n + t.length, 0);
  const results = {};
  for (const mode of ['off', 'on']) {
    results[mode] = await withSchema(PG_URL, async ({ databaseUrl }) => {
      const server = await startServerProcess({
        adminToken: ADMIN,
        databaseUrl,
        env: { FIELDLINE_ANALYTICS: mode },
      });
      try {
        const devices = await enrollFleet(server.url, 'bench', devicesCount);
        const cpu0 = machineCpuSeconds();
        const t0 = performance.now();
        const stored = await sendTimelines(server.url, devices, timelines);
        const ingestMs = performance.now() - t0;
        const catchUpMs = mode === 'on' ? await waitForConsumer(server.url) : 0;
        const cpuSeconds = machineCpuSeconds() - cpu0;
        return {
          stored,
          eventsPerSecond: (stored * 1000) / ingestMs,
          catchUpMs,
          ingestMs,
          cpuMsPerThousand: (cpuSeconds * 1e6) / stored,
        };
      } finally {
        await server.stop();
      }
    });
  }
  printTable(
    `ingest with the analytics consumer — ${devicesCount} devices × ${days} days of activity (${fmt(total)} events, sealed batches of 500, PostgreSQL)`,
    ['run', 'events/s stored', 'vs consumer off', 'consumer caught up after'],
    [
      {
        run: 'analytics consumer off',
        'events/s stored': fmt(results.off.eventsPerSecond),
        'vs consumer off': '100%',
      },
      {
        run: 'analytics consumer on (in process)',
        'events/s stored': fmt(results.on.eventsPerSecond),
        'vs consumer off': `${((results.on.eventsPerSecond / results.off.eventsPerSecond) * 100).toFixed(0)}%`,
        'consumer caught up after': `${(results.on.catchUpMs / 1000).toFixed(1)} s`,
      },
    ],
  );
  // When both runs are CPU-bound, `on` can store at most off × ingest / (ingest + consumer).
  const ingestCost = results.off.cpuMsPerThousand;
  const consumerCost = results.on.cpuMsPerThousand - ingestCost;
  console.log(
    `\nmachine CPU per 1,000 events stored (every process: server, PostgreSQL, the load generator): consumer off ${ingestCost.toFixed(0)} ms, consumer on ${results.on.cpuMsPerThousand.toFixed(0)} ms (the consumer's share ${consumerCost.toFixed(0)} ms); with the machine saturated, the consumer-on rate is bounded by ${((ingestCost / (ingestCost + consumerCost)) * 100).toFixed(0)}% of consumer-off`,
  );
  await benchLag();
}

/**
 * Consumer lag at a steady paced rate (`BENCH_ANALYTICS_ONLY=lag` runs only this): the consumer
 * in the server process (the default), then in its own `fieldline-server worker analytics`
 * process beside a server started with `--no-analytics` (lag read from the stream's positions).
 */
async function benchLag() {
  const rate = Number(process.env.BENCH_ANALYTICS_RATE ?? 10_000);
  const inProcess = await withSchema(PG_URL, async ({ databaseUrl }) => {
    const server = await startServerProcess({ adminToken: ADMIN, databaseUrl });
    try {
      return await pacedLag(server.url, rate, () => consumerLag(server.url));
    } finally {
      await server.stop();
    }
  });
  const inWorker = await withSchema(PG_URL, async ({ databaseUrl }) => {
    const server = await startServerProcess({
      adminToken: ADMIN,
      databaseUrl,
      args: ['--no-analytics'],
    });
    const worker = startWorkerProcess(['analytics'], databaseUrl);
    const database = await createDatabase({ connectionString: databaseUrl });
    const stream = createOutboxStream({ db: database.db });
    const lag = async () => {
      const { records, oldestAgeMs } = await stream.lag('analytics');
      return { records, seconds: (oldestAgeMs ?? 0) / 1000 };
    };
    try {
      return await pacedLag(server.url, rate, lag);
    } finally {
      await worker.stop();
      await stream.close();
      await database.close();
      await server.stop();
    }
  });
  // The consumer alone: a worker started once the whole backlog is stored.
  const backlog = await withSchema(PG_URL, async ({ databaseUrl }) => {
    const server = await startServerProcess({
      adminToken: ADMIN,
      databaseUrl,
      args: ['--no-analytics'],
    });
    const database = await createDatabase({ connectionString: databaseUrl });
    const stream = createOutboxStream({ db: database.db });
    let worker;
    const lag = async () => {
      if (worker === undefined) return { records: 1, seconds: Number.NaN };
      const { records } = await stream.lag('analytics');
      return { records, seconds: Number.NaN };
    };
    try {
      return await pacedLag(server.url, rate, lag, async () => {
        worker = startWorkerProcess(['analytics'], databaseUrl);
      });
    } finally {
      await worker?.stop();
      await stream.close();
      await database.close();
      await server.stop();
    }
  });
  printTable(
    `consumer lag at a steady ${fmt(rate)} events/s for ${inProcess.seconds} s (${inProcess.devices} devices, batches of 100 events; lag sampled every 250 ms)`,
    ['consumer', 'events/s stored', 'lag p50 s', 'lag p99 s', 'lag max s', 'records behind max'],
    [
      ['in the server process', inProcess],
      ['own worker process', inWorker],
    ].map(([consumer, paced]) => ({
      consumer,
      'events/s stored': fmt(paced.storedPerSecond),
      'lag p50 s': paced.lagP50.toFixed(2),
      'lag p99 s': paced.lagP99.toFixed(2),
      'lag max s': paced.lagMax.toFixed(2),
      'records behind max': fmt(paced.recordsMax),
    })),
  );
  const records = Math.ceil(backlog.stored / 100);
  console.log(
    `\nthe consumer alone (own worker process, started on a stored backlog of ${fmt(backlog.stored)} events in ${fmt(records)} records): caught up in ${(backlog.drainMs / 1000).toFixed(1)} s including its start, ${fmt((backlog.stored * 1000) / backlog.drainMs)} events/s (${fmt((records * 1000) / backlog.drainMs)} records/s), ${((backlog.drainCpuSeconds * 1e6) / backlog.stored).toFixed(0)} ms of machine CPU per 1,000 events`,
  );
}

/** Sends at `rate` events/s from a fleet for a while, sampling the consumer's lag. */
async function pacedLag(url, rate, readLag, beforeDrain = async () => {}) {
  const devicesCount = Number(process.env.BENCH_ANALYTICS_LAG_DEVICES ?? 100);
  const seconds = Number(process.env.BENCH_ANALYTICS_LAG_SECONDS ?? 20);
  const batch = 100;
  const devices = await enrollFleet(url, 'bench', devicesCount);
  const perDevice = Math.ceil((rate * seconds) / devicesCount);
  const start = Date.now() + 60_000;
  // Each device's own timeline, long enough for its share, pre-sealed.
  const bodies = [];
  for (let d = 0; d < devicesCount; d++) {
    let events = [];
    for (let day = 0; events.length < perDevice; day++) {
      events = events.concat(
        deviceTimeline({
          fromMs: start + day * DAY_MS,
          toMs: start + (day + 1) * DAY_MS,
          seed: 500 + d * 31 + day,
        }),
      );
    }
    const own = [];
    for (let i = 0; i < perDevice; i += batch) {
      own.push(await sealedBatch(devices[d], events.slice(i, Math.min(i + batch, perDevice))));
    }
    bodies.push(own);
  }
  const lags = [];
  let recordsMax = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const lag = await readLag();
      if (Number.isFinite(lag.seconds)) lags.push(lag.seconds);
      recordsMax = Math.max(recordsMax, lag.records || 0);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const intervalMs = (batch * devicesCount * 1000) / rate;
  const t0 = performance.now();
  let stored = 0;
  await Promise.all(
    devices.map(async (device, d) => {
      for (let i = 0; i < bodies[d].length; i++) {
        const due = t0 + i * intervalMs + (d * intervalMs) / devicesCount;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const response = await postBatch(url, device, bodies[d][i]);
        const result = await response.json();
        if (response.status === 200) stored += result.accepted;
      }
    }),
  );
  const elapsed = performance.now() - t0;
  await beforeDrain();
  const drainStarted = performance.now();
  const drainCpu0 = machineCpuSeconds();
  for (;;) {
    if ((await readLag()).records === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  sampling = false;
  await sampler;
  lags.sort((a, b) => a - b);
  const pct = (p) =>
    lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? Number.NaN;
  return {
    rate,
    seconds,
    devices: devicesCount,
    storedPerSecond: (stored * 1000) / elapsed,
    lagP50: pct(50),
    lagP99: pct(99),
    lagMax: lags.at(-1) ?? Number.NaN,
    recordsMax,
    stored,
    drainMs: performance.now() - drainStarted,
    drainCpuSeconds: machineCpuSeconds() - drainCpu0,
  };
}

export async function run() {
  const only = (process.env.BENCH_ANALYTICS_ONLY ?? 'reports,ingest,stream').split(',');
  if (only.includes('reports')) await benchReports();
  if (only.includes('ingest')) await benchIngest();
  else if (only.includes('lag')) await benchLag();
  if (only.includes('stream')) {
    const { runStreamBenches } = await import('./stream-benches.mjs');
    await runStreamBenches({ pgUrl: PG_URL, adminToken: ADMIN });
  }
}
