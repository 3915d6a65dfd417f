// Core bench: validation against a bare zod parse, sealing and opening
// batches, and the bounded queue. Prints tables; asserts nothing.
import { Buffer } from 'node:buffer';
import { builtInEventTypes, createEventRegistry, eventEnvelopeSchema } from '@fieldline/core';
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

export async function run() {
  const validationRows = await validation();
  printTable(
    'core — validation (envelope + data schema)',
    ['operation', 'events/s', 'vs bare zod'],
    validationRows,
  );
}
