import { randomUUID } from 'node:crypto';
import { generateIdentity, type Identity } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import fc from 'fast-check';
import { afterEach, beforeAll, expect, it } from 'vitest';
import {
  type AnalyticsConsumer,
  createAnalyticsConsumer,
} from '../../src/analytics/create-analytics-consumer.js';
import { setTenantAnalyticsSettings } from '../../src/analytics/set-tenant-analytics-settings.js';
import { createOutboxStream } from '../../src/stream/create-outbox-stream.js';
import type { EventStream } from '../../src/stream/event-stream.js';
import { createTestDevice, type TestDevice } from '../ingestion/ingestion-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { activityEventBody, activitySpecArb } from './activity-specs.js';
import {
  deviceTotalsOf,
  drain,
  expectedTables,
  ingest,
  ingestionPipeline,
  MIN,
  storedDeviceTotals,
  storedRows,
  storedTenantRows,
  uniqueEventId,
} from './analytics-fixtures.js';

// Random activity timelines of 2–3 devices across local midnights and DST changes, stored
// through the real ingestion pipeline in shuffled batches with duplicates (a late event is one
// shuffled behind later ones), some sharing a `received_at`, consumed by the real consumer on
// the real outbox stream while batches keep arriving. The consumer adds each batch's difference
// to the rows; after it drains, the tables must hold exactly the pure aggregation of the stored
// events.

const specArb = activitySpecArb({ maxIdleForMin: 600, maxIntervalMin: 300, junk: false });

// Each start is a few hours before a DST change in its zone.
const zoneStart = fc.constantFrom(
  { timeZone: 'America/New_York', startMs: Date.parse('2026-03-07T20:00:00Z') },
  { timeZone: 'America/New_York', startMs: Date.parse('2026-10-31T20:00:00Z') },
  { timeZone: 'Europe/Paris', startMs: Date.parse('2026-03-28T18:00:00Z') },
  { timeZone: 'Europe/Paris', startMs: Date.parse('2026-10-24T18:00:00Z') },
);

const scenarioArb = fc.record({
  zone: zoneStart,
  deviceCount: fc.integer({ min: 2, max: 3 }),
  maxOpenMin: fc.integer({ min: 1, max: 30 }),
  // A short span on a 5-minute grid packs events (and ties) around midnight; a long one crosses days.
  gens: fc.constantFrom([8 * 60, 5], [2 * 24 * 60, 1]).chain(([span, step]) =>
    fc.array(
      fc.record({
        device: fc.integer({ min: 0, max: 2 }),
        minute: fc.integer({ min: 0, max: span / step }).map((n) => n * step),
        spec: specArb,
      }),
      { minLength: 1, maxLength: 30 },
    ),
  ),
  seed: fc.integer(),
});

/** A seeded generator, so a failing run replays exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
}

let nextId = 1;
const streams: EventStream[] = [];
const consumers: AnalyticsConsumer[] = [];
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
  await Promise.all(streams.splice(0).map((stream) => stream.close()));
});

describeEachDatabase('analytics consumer, property', (current) => {
  let server: Identity;
  beforeAll(async () => {
    server = await generateIdentity();
  });

  it('leaves exactly the aggregation of the stored events, and its tenant sums', async () => {
    const { db } = current();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ zone, deviceCount, maxOpenMin, gens, seed }) => {
        const tenantId = `t-${randomUUID().slice(0, 8)}`;
        const clock = createFakeClock({ nowMs: zone.startMs + 3 * 24 * 60 * MIN });
        const options = { timeZone: zone.timeZone, maxOpenIntervalMs: maxOpenMin * MIN };
        const devices: TestDevice[] = [];
        for (let i = 0; i < deviceCount; i++) devices.push(await createTestDevice(db, tenantId));
        await setTenantAnalyticsSettings(db, tenantId, options);

        // Envelopes: seq per device, monotonic in time.
        const seqs = new Map<number, number>();
        const envelopes = [...gens]
          .map((g, i) => ({ ...g, device: g.device % deviceCount, i }))
          .sort((a, b) => a.minute - b.minute || a.i - b.i)
          .map((g) => {
            const seq = (seqs.get(g.device) ?? 0) + 1;
            seqs.set(g.device, seq);
            const { type, scope, data } = activityEventBody(g.spec);
            const event = {
              id: uniqueEventId(nextId++),
              type,
              occurredAt: new Date(zone.startMs + g.minute * MIN).toISOString(),
              seq,
              scope,
              data,
            };
            return { device: g.device, event };
          });

        // Deliveries: shuffled, some twice, cut into batches of 1–6 events of one device.
        const next = random(seed);
        const deliveries = [...envelopes];
        for (const envelope of envelopes) if (next() < 0.3) deliveries.push(envelope);
        for (let i = deliveries.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [deliveries[i], deliveries[j]] = [deliveries[j] as never, deliveries[i] as never];
        }
        const pipeline = ingestionPipeline(db, server, clock);
        const stream = createOutboxStream({ db, pollIntervalMs: 5 });
        streams.push(stream);
        let consumer: AnalyticsConsumer | undefined;
        let at = 0;
        while (at < deliveries.length) {
          const size = 1 + Math.floor(next() * 6);
          const first = deliveries[at];
          if (first === undefined) break;
          const batch: unknown[] = [];
          const seen = new Set<string>();
          while (at < deliveries.length && batch.length < size) {
            const item = deliveries[at];
            if (item === undefined || item.device !== first.device || seen.has(item.event.id))
              break;
            seen.add(item.event.id);
            batch.push(item.event);
            at++;
          }
          const device = devices[first.device] as TestDevice;
          // Now and then a batch is received in the same millisecond as the one before it.
          await ingest(pipeline, device, server, clock, batch, next() < 0.15 ? 0 : 1000);
          // The consumer starts halfway, so it meets both a backlog and live batches.
          if (consumer === undefined && at >= deliveries.length / 2) {
            consumer = createAnalyticsConsumer({ stream, db, clock, settingsTtlMs: 0 });
            consumers.push(consumer);
          }
        }
        consumer ??= createAnalyticsConsumer({ stream, db, clock, settingsTtlMs: 0 });
        consumers.push(consumer);
        await drain(consumer);
        await consumer.stop();

        const ids = devices.map((device) => device.id);
        const expected = await expectedTables(db, ids, options);
        expect(await storedRows(db, tenantId)).toEqual(expected.rows);
        expect(await storedTenantRows(db, tenantId)).toEqual(expected.tenantRows);
        expect(await storedDeviceTotals(db, tenantId)).toEqual(deviceTotalsOf(expected.rows));
      }),
      { numRuns: Number(process.env.FIELDLINE_PROPERTY_RUNS ?? 20) },
    );
  }, 240_000);
});
