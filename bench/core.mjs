// Core bench: validation against a bare zod parse, sealing and opening
// batches, and the bounded queue. Prints tables; asserts nothing.
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import {
  builtInEventTypes,
  createBoundedQueue,
  createEventRegistry,
  createMemoryReplayGuard,
  eventEnvelopeSchema,
  generateIdentity,
  openJson,
  SealKind,
  sealJson,
  sealMessage,
} from '@fieldline/core';
import { z } from 'zod';
import { makeEvents } from './fixtures.mjs';
import { fmt, measure, printTable } from './harness.mjs';

async function validation() {
  const events = makeEvents(1000);
  const registry = createEventRegistry();
  // The baseline: the same schemas, composed and parsed by zod directly with
  // no registry around them.
  const bare = new Map(
    builtInEventTypes.map((t) => [
      t.type,
      z.strictObject({
        ...eventEnvelopeSchema.shape,
        type: z.literal(t.type),
        scope: z.literal(t.scope),
        data: t.dataSchema,
      }),
    ]),
  );
  const meanBytes =
    events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0) / events.length;
  const ours = await measure(
    () => {
      for (const event of events)
        if (!registry.validate(event).ok) throw new Error('invalid fixture');
    },
    { unitsPerCall: events.length },
  );
  const baseline = await measure(
    () => {
      for (const event of events)
        if (!bare.get(event.type).safeParse(event).success) throw new Error('invalid fixture');
    },
    { unitsPerCall: events.length },
  );
  return [
    {
      operation: `registry.validate (${Math.round(meanBytes)} B events)`,
      'events/s': fmt(ours.unitsPerSecond),
      'vs bare zod': `${((ours.unitsPerSecond / baseline.unitsPerSecond) * 100).toFixed(0)}%`,
    },
    {
      operation: 'bare zod safeParse, same schemas (baseline)',
      'events/s': fmt(baseline.unitsPerSecond),
      'vs bare zod': '100%',
    },
  ];
}

async function sealing() {
  const device = await generateIdentity();
  const server = await generateIdentity();
  const clock = { now: () => Date.now() };
  const rows = [];
  for (const size of [100, 1000]) {
    const events = makeEvents(size);
    const batch = { batchId: randomUUID(), sentAt: new Date().toISOString(), events };
    const seal = () =>
      sealJson({
        kind: SealKind.EventBatch,
        senderId: 'dev_bench',
        messageId: randomUUID(),
        timestampMs: Date.now(),
        payload: batch,
        recipientEncryptionPublicKey: server.encryptionPublicKey,
        sender: device,
      });
    // An agent serializes each event once at track() (it needs the size for
    // the byte caps), so at flush the batch is bytes already: sealMessage.
    const plaintext = new TextEncoder().encode(JSON.stringify(batch));
    const sealBytes = () =>
      sealMessage({
        kind: SealKind.EventBatch,
        senderId: 'dev_bench',
        messageId: randomUUID(),
        timestampMs: Date.now(),
        plaintext,
        recipientEncryptionPublicKey: server.encryptionPublicKey,
        sender: device,
      });
    const frameBytes = (await seal()).byteLength;
    const sealedBytes = await measure(sealBytes, { unitsPerCall: size });
    const sealed = await measure(seal, { unitsPerCall: size });
    // Frames are sealed ahead, outside the timed region, and cycled; the
    // replay guard is renewed at each cycle so it refuses none of them.
    const frames = [];
    for (let i = 0; i < 64; i++) frames.push(await seal());
    let replayGuard = createMemoryReplayGuard({ clock, maxEntries: 1_000_000 });
    let next = 0;
    const open = async () => {
      if (next === frames.length) {
        next = 0;
        replayGuard = createMemoryReplayGuard({ clock, maxEntries: 1_000_000 });
      }
      const result = await openJson(frames[next++], {
        recipient: server,
        senderSigningPublicKey: device.signingPublicKey,
        clock,
        replayGuard,
      });
      if (!result.ok) throw new Error(result.error.code);
    };
    const opened = await measure(open, { unitsPerCall: size });
    for (const [operation, m] of [
      ['seal+sign, batch bytes ready (sealMessage)', sealedBytes],
      ['seal+sign incl. JSON.stringify (sealJson)', sealed],
      ['open+verify incl. JSON.parse (openJson)', opened],
    ]) {
      rows.push({
        operation,
        batch: `${size} events, ${(frameBytes / 1024).toFixed(0)} KiB`,
        'events/s': fmt(m.unitsPerSecond),
        'MB/s': (((m.unitsPerSecond / size) * frameBytes) / 1e6).toFixed(1),
        'ms/batch': m.msPerCall.toFixed(2),
      });
    }
  }
  return rows;
}

async function queue() {
  const q = createBoundedQueue({ maxItems: 1000 });
  const item = { id: 'x' };
  const burst = 500;
  const cases = [
    [
      'offer + takeBatch (size given)',
      () => {
        for (let i = 0; i < burst; i++) q.offer(item, 240);
        q.takeBatch({ maxEvents: burst, maxBytes: 512 * 1024 });
      },
    ],
    [
      'offer + drain (size given)',
      () => {
        for (let i = 0; i < burst; i++) q.offer(item, 240);
        q.drain();
      },
    ],
    [
      'offer + drain (size from JSON)',
      () => {
        for (let i = 0; i < burst; i++) q.offer(item);
        q.drain();
      },
    ],
  ];
  const rows = [];
  for (const [operation, fn] of cases) {
    const m = await measure(fn, { unitsPerCall: burst });
    rows.push({ operation, 'ops/s': fmt(m.unitsPerSecond) });
  }
  return rows;
}

export async function run() {
  printTable(
    'core — validation (envelope + data schema)',
    ['operation', 'events/s', 'vs bare zod'],
    await validation(),
  );
  printTable(
    'core — sealed batches (RFC 9180 HPKE X25519/HKDF-SHA256/ChaCha20-Poly1305 + Ed25519)',
    ['operation', 'batch', 'events/s', 'MB/s', 'ms/batch'],
    await sealing(),
  );
  printTable(
    'core — bounded queue (enqueue + drain, 500-event bursts)',
    ['operation', 'ops/s'],
    await queue(),
  );
}
