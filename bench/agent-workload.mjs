// Child-process workloads of the agent bench (bench/agent.mjs forks this file
// with a mode and options, and gets one result back over IPC). Each workload
// runs alone in its own process so its RSS and CPU time are its own.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createAgent, createHttpTransport } from '@fieldline/agent-sdk';
import {
  createBoundedQueue,
  createEnvelopeFactory,
  createEventRegistry,
  encodeSealedBody,
  generateIdentity,
  SealKind,
  sealMessage,
} from '@fieldline/core';
import { createBatchAnswerer, sinkParties } from './fieldline-sink.mjs';

const TYPE = 'activity.window.focused';
const APPS = ['editor', 'browser', 'terminal', 'mail', 'chat', 'calendar', 'music'];
const dataOf = (i) => ({ app: APPS[i % APPS.length], pid: 1000 + (i % 30_000) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function procStatus(field) {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
    readFileSync('/proc/self/status', 'utf8'),
  );
  return match ? Number(match[1]) / 1024 : Number.NaN;
}
const rssMb = () => procStatus('VmRSS');
const peakRssMb = () => procStatus('VmHWM');
function cpuTicks() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, clock ticks (USER_HZ = 100)
}

// The sink of bench/fieldline-sink.mjs as a Transport: no network. It keeps the bodies it
// answered so their cost can be timed afterwards on their own: the agent has two batches in
// flight, so time spent inside request() overlaps the agent's own work and cannot be summed.
function sinkTransport(parties) {
  const answerer = createBatchAnswerer(parties);
  const sink = { requests: 0, events: 0, bodies: [] };
  sink.transport = {
    async request({ method, url, body }) {
      if (method !== 'POST' || !url.endsWith('/v1/events')) {
        return { status: 404, header: () => undefined, body: { error: { code: 'not_found' } } };
      }
      sink.requests++;
      sink.bodies.push(body);
      const answer = await answerer.answer(body);
      sink.events = answerer.stats.events;
      return { status: answer.status, header: () => undefined, body: answer.body };
    },
  };
  sink.reset = () => {
    sink.requests = 0;
    sink.events = 0;
    sink.bodies = [];
  };
  // Answers the recorded bodies again, one after another, with a fresh replay guard.
  sink.timeAlone = async () => {
    const again = createBatchAnswerer(parties);
    const t0 = performance.now();
    for (const body of sink.bodies) await again.answer(body);
    return performance.now() - t0;
  };
  return sink;
}

// Track → 500-event batch → batch JSON → sealMessage → request body, composed
// from core exactly as the agent does it, with no disk and no network.
async function sealedComposed({ events }) {
  const registry = createEventRegistry();
  const envelopes = createEnvelopeFactory({});
  const device = await generateIdentity();
  const server = await generateIdentity();
  const queue = createBoundedQueue({
    maxItems: 1000,
    overflow: 'reject',
    sizeOf: (item) => item.json.length,
  });
  const encoder = new TextEncoder();
  let bytes = 0;
  const round = async (count) => {
    for (let i = 0; i < count; i++) {
      const eventType = registry.get(TYPE);
      const valid = registry.validateData(TYPE, dataOf(i));
      if (!valid.ok) throw new Error(valid.error.message);
      const envelope = envelopes.create(TYPE, eventType.scope, valid.value);
      const item = { id: envelope.id, scope: envelope.scope, json: JSON.stringify(envelope) };
      queue.offer(item, item.json.length);
      if (queue.size >= 500) {
        const batch = queue.takeBatch({ maxEvents: 500, maxBytes: 512 * 1024 });
        const batchJson = `{"batchId":"${randomUUID()}","sentAt":"${new Date().toISOString()}","events":[${batch.items.map((it) => it.json).join(',')}]}`;
        const frame = await sealMessage({
          kind: SealKind.EventBatch,
          senderId: 'dev_bench',
          messageId: randomUUID(),
          timestampMs: Date.now(),
          plaintext: encoder.encode(batchJson),
          recipientEncryptionPublicKey: server.encryptionPublicKey,
          sender: device,
        });
        bytes += JSON.stringify(encodeSealedBody(frame)).length;
      }
    }
  };
  await round(20_000); // warm-up
  bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await round(events);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    events,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    bytesPerBatch: bytes / (events / 500),
  };
}

// The agent's own path: track(), then flush() (spool write, encrypt at rest,
// fsync, read back, seal, POST) into the sink transport above.
async function sealedAgent({ stateDir, serverIdentityPath, events }) {
  const parties = sinkParties({ serverIdentityPath, stateDir });
  const sink = sinkTransport(parties);
  const agent = await createAgent({ stateDir, transport: sink.transport });
  const round = async (count) => {
    for (let done = 0; done < count; done += 1000) {
      for (let i = 0; i < 1000; i++) {
        const result = agent.track(TYPE, dataOf(i));
        if (result.status !== 'queued') throw new Error(`track refused: ${result.reason}`);
      }
      const flushed = await agent.flush();
      if (flushed.delivered !== 1000) throw new Error(`flush: ${JSON.stringify(flushed)}`);
    }
  };
  await round(10_000); // warm-up
  sink.reset();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await round(events);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    events,
    ms,
    sinkMs: await sink.timeAlone(),
    sinkEvents: sink.events,
    requests: sink.requests,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

// An enrolled, consented agent against the real server: idle, then 10
// events/s, then 1,000 events/s. RSS and CPU are read from /proc/self.
async function live({ stateDir, idleMs, warmMs, cpuMs, loadMs }) {
  const agent = await createAgent({ stateDir });
  await agent.start();
  const rssAfterStart = rssMb();
  await sleep(idleMs);
  const rssIdle = rssMb();

  // 10 events/s, one every 100 ms.
  let sent = 0;
  const paced = async (perSecond, ms, onTick) => {
    const start = performance.now();
    let tracked = 0;
    while (performance.now() - start < ms) {
      const due = Math.floor(((performance.now() - start) * perSecond) / 1000);
      while (tracked < due) {
        if (agent.track(TYPE, dataOf(sent++)).status !== 'queued') throw new Error('refused');
        tracked++;
      }
      onTick?.();
      await sleep(Math.max(1, Math.min(100, 1000 / perSecond)));
    }
    return tracked;
  };
  // The first minute pays for V8 compiling the flush path on background threads; an agent
  // that runs all day pays that once, so the steady figure is measured after it.
  const warmTicks0 = cpuTicks();
  const w0 = performance.now();
  const warmTracked = await paced(10, warmMs);
  const warmSeconds = (performance.now() - w0) / 1000;
  const warmCpuPercent = ((cpuTicks() - warmTicks0) / 100 / warmSeconds) * 100;
  const ticks0 = cpuTicks();
  const c0 = performance.now();
  const slowTracked = await paced(10, cpuMs);
  const cpuSeconds = (performance.now() - c0) / 1000;
  const cpuPercent = ((cpuTicks() - ticks0) / 100 / cpuSeconds) * 100;

  let peakRss = rssMb();
  const l0 = performance.now();
  const ticks1 = cpuTicks();
  let lastSample = 0;
  const loadTracked = await paced(1000, loadMs, () => {
    if (performance.now() - lastSample >= 100) {
      lastSample = performance.now();
      peakRss = Math.max(peakRss, rssMb());
    }
  });
  const loadSeconds = (performance.now() - l0) / 1000;
  const loadCpuPercent = ((cpuTicks() - ticks1) / 100 / loadSeconds) * 100;
  peakRss = Math.max(peakRss, rssMb());
  await agent.shutdown({ timeoutMs: 10_000 });
  return {
    spool: agent.status().spool,
    rssAfterStart,
    rssIdle,
    warmSeconds,
    warmCpuPercent,
    warmTracked,
    cpuSeconds,
    cpuPercent,
    slowTracked,
    loadTracked,
    loadSeconds,
    loadCpuPercent,
    peakRss,
    hwm: peakRssMb(),
    drops: agent.status().drops,
  };
}

// The live workload's 10-per-second pacing loop with nothing to track: the harness's own cost.
async function pacingBaseline({ cpuMs }) {
  await sleep(3_000);
  const ticks0 = cpuTicks();
  const start = performance.now();
  let ticks = 0;
  while (performance.now() - start < cpuMs) {
    ticks++;
    await sleep(100);
  }
  const cpuSeconds = (performance.now() - start) / 1000;
  return { cpuSeconds, cpuPercent: ((cpuTicks() - ticks0) / 100 / cpuSeconds) * 100, ticks };
}

// 50,000 events in a tight loop, then whatever each client needs to finish.
// With `sinkUrl`, event batches go to that sink instead of the enrolled server.
async function burstFieldline({ stateDir, events, sinkUrl }) {
  const http = createHttpTransport();
  let requests = 0;
  const transport = {
    request(req) {
      if (req.method !== 'POST' || !req.url.endsWith('/v1/events')) return http.request(req);
      requests++;
      const started = Date.now();
      const answer =
        sinkUrl === undefined
          ? http.request(req)
          : http.request({ ...req, url: `${sinkUrl}${new URL(req.url).pathname}` });
      return trace ? answer.finally(() => trace.push([started, Date.now()])) : answer;
    },
  };
  // BENCH_AGENT_TRACE=1 prints when each request started and ended, relative to the first
  // capture (and the sink, when the bench's, prints when it received and answered each), to
  // see where a burst waits.
  const trace = process.env.BENCH_AGENT_TRACE ? [] : undefined;
  const agent = await createAgent({ stateDir, transport });
  await agent.start();
  requests = 0;
  const firstCaptureAt = Date.now();
  let refused = 0;
  for (let i = 0; i < events; i++) if (agent.track(TYPE, dataOf(i)).status !== 'queued') refused++;
  const capturedAt = Date.now();
  // flush() resends at most 20 spool files per run (the spool's default), so
  // run it until the queue and the spool are empty.
  for (let runs = 0; runs < 1000; runs++) {
    const status = agent.status();
    if (status.queue.events === 0 && status.spool.files === 0) break;
    const flushed = await agent.flush();
    if (flushed.deferred > 0) await sleep(100);
  }
  const lastDeliveryAt = Date.now();
  if (trace) {
    const at = (t) => String(t - firstCaptureAt).padStart(5);
    console.error(`captured ${at(capturedAt)} ms, last delivery ${at(lastDeliveryAt)} ms`);
    for (const [start, end] of trace)
      console.error(`request ${at(start)} → ${at(end)} ms (clock ${start % 100_000})`);
  }
  await agent.shutdown({ timeoutMs: 10_000 });
  return {
    firstCaptureAt,
    capturedAt,
    lastDeliveryAt,
    requests,
    refused,
    peakRss: peakRssMb(),
    drops: agent.status().drops,
  };
}

async function burstPosthog({ sinkUrl, events }) {
  const { PostHog } = await import('posthog-node');
  const client = new PostHog('phc_fieldline_bench', { host: sinkUrl });
  const firstCaptureAt = Date.now();
  for (let i = 0; i < events; i++)
    client.capture({ distinctId: 'bench-device', event: TYPE, properties: dataOf(i) });
  const capturedAt = Date.now();
  await client.shutdown();
  return { firstCaptureAt, capturedAt, finishedAt: Date.now(), peakRss: peakRssMb() };
}

async function burstSegment({ sinkUrl, events }) {
  const { Analytics } = await import('@segment/analytics-node');
  const analytics = new Analytics({ writeKey: 'fieldline-bench', host: sinkUrl });
  const firstCaptureAt = Date.now();
  for (let i = 0; i < events; i++)
    analytics.track({ userId: 'bench-device', event: TYPE, properties: dataOf(i) });
  const capturedAt = Date.now();
  await analytics.closeAndFlush();
  return { firstCaptureAt, capturedAt, finishedAt: Date.now(), peakRss: peakRssMb() };
}

const modes = {
  sealedComposed,
  sealedAgent,
  live,
  pacingBaseline,
  burstFieldline,
  burstPosthog,
  burstSegment,
};
const [mode, json] = process.argv.slice(2);
try {
  const result = await modes[mode](JSON.parse(json ?? '{}'));
  process.send({ ok: true, result });
} catch (error) {
  process.send({ ok: false, error: error instanceof Error ? error.stack : String(error) });
}
process.disconnect();
