import { randomUUID } from 'node:crypto';
import { generateIdentity, type Identity, isInvalidArgumentError } from '@fieldline/core';
import { createFakeClock, type FakeClock } from '@fieldline/core/testing';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  type AnalyticsConsumer,
  createAnalyticsConsumer,
} from '../../src/analytics/create-analytics-consumer.js';
import { recomputeActivity } from '../../src/analytics/recompute-activity.js';
import { setTenantAnalyticsSettings } from '../../src/analytics/set-tenant-analytics-settings.js';
import { readTenantAnalyticsSettings } from '../../src/analytics/tenant-analytics-settings.js';
import type { ConsentHistorySource } from '../../src/ingestion/index.js';
import { createOutboxStream } from '../../src/stream/create-outbox-stream.js';
import type { EventStream } from '../../src/stream/event-stream.js';
import { createTestDevice, type TestDevice } from '../ingestion/ingestion-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  deviceTotalsOf,
  drain,
  expectedTables,
  HOUR,
  ingest,
  ingestionPipeline,
  MIN,
  storedDeviceTotals,
  storedRows,
  storedTenantRows,
  uniqueEventId,
} from './analytics-fixtures.js';

let nextId = 1_000_000;
function envelope(type: string, atMs: number, seq: number, data: Record<string, unknown>) {
  return {
    id: uniqueEventId(nextId++),
    type,
    occurredAt: new Date(atMs).toISOString(),
    seq,
    scope: type === 'activity.network.volume' ? 'network' : 'activity',
    data,
  };
}

// A working evening across a Paris midnight (2026-06-10 22:00 → 06-11 01:00 local, UTC+2).
const MIDNIGHT_PARIS = Date.parse('2026-06-10T22:00:00Z');
function evening(startSeq = 1) {
  let seq = startSeq;
  const at = (minutes: number) => MIDNIGHT_PARIS + minutes * MIN;
  return [
    envelope('activity.app.launched', at(-120), seq++, { app: 'editor' }),
    envelope('activity.window.focused', at(-120), seq++, { app: 'editor' }),
    envelope('activity.window.focused', at(-110), seq++, { app: 'browser' }),
    envelope('activity.system.idle', at(-100), seq++, { idleThresholdMs: 5 * MIN }),
    envelope('activity.system.active', at(-20), seq++, { idleForMs: 85 * MIN }),
    envelope('activity.window.focused', at(-10), seq++, { app: 'editor' }),
    envelope('activity.window.focused', at(3), seq++, { app: 'terminal' }),
    envelope('activity.network.volume', at(30), seq++, {
      intervalMs: HOUR,
      bytesIn: 3_600_000,
      bytesOut: 36,
    }),
    envelope('activity.window.focused', at(50), seq++, { app: 'editor' }),
  ];
}

const streams: EventStream[] = [];
const consumers: AnalyticsConsumer[] = [];
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
  await Promise.all(streams.splice(0).map((stream) => stream.close()));
});

describeEachDatabase('analytics consumer', (current, kind) => {
  let server: Identity;
  let clock: FakeClock;
  let tenantId: string;
  let devices: TestDevice[];

  beforeEach(async () => {
    server = await generateIdentity();
    clock = createFakeClock({ nowMs: MIDNIGHT_PARIS + 2 * 24 * HOUR });
    tenantId = `t-${randomUUID().slice(0, 8)}`;
    devices = [
      await createTestDevice(current().db, tenantId),
      await createTestDevice(current().db, tenantId),
    ];
  });

  function start(
    name = 'analytics',
    logger?: Parameters<typeof createAnalyticsConsumer>[0]['logger'],
    batchSize = 3,
  ) {
    const { db } = current();
    const stream = createOutboxStream({ db, pollIntervalMs: 1, batchSize });
    streams.push(stream);
    const consumer = createAnalyticsConsumer({
      stream,
      db,
      clock,
      name,
      settingsTtlMs: 0,
      ...(logger === undefined ? {} : { logger }),
    });
    consumers.push(consumer);
    return consumer;
  }

  /** The evening of each device, in batches of two, the second device's in reverse (late) order. */
  async function ingestEvenings(consent?: ConsentHistorySource): Promise<void> {
    const pipeline = ingestionPipeline(current().db, server, clock, consent);
    for (const [index, device] of devices.entries()) {
      const events = evening();
      if (index === 1) events.reverse();
      for (let at = 0; at < events.length; at += 2) {
        await ingest(pipeline, device, server, clock, events.slice(at, at + 2));
      }
    }
  }

  async function tables() {
    const { db } = current();
    return {
      rows: await storedRows(db, tenantId),
      tenantRows: await storedTenantRows(db, tenantId),
      // updated_at included: a replay must not rewrite a device's totals either.
      deviceTotals: await db
        .selectFrom('device_day_totals')
        .selectAll()
        .orderBy('device_id')
        .orderBy('day')
        .execute(),
      // updated_at too: a replay must not even rewrite a row.
      stamps: await db
        .selectFrom('aggregates')
        .select(['device_id', 'day', 'app', 'updated_at'])
        .where('tenant_id', '=', tenantId)
        .orderBy('device_id')
        .orderBy('day')
        .orderBy('app')
        .execute(),
    };
  }

  it('recomputes every day a batch touches, in the tenant time zone, with tenant sums', async () => {
    const { db } = current();
    await setTenantAnalyticsSettings(db, tenantId, { timeZone: 'Europe/Paris' });
    await ingestEvenings();
    const consumer = start();
    await drain(consumer);
    const expected = await expectedTables(
      db,
      devices.map((d) => d.id),
      { timeZone: 'Europe/Paris', maxOpenIntervalMs: 15 * MIN },
    );
    const { rows, tenantRows } = await tables();
    expect(rows).toEqual(expected.rows);
    expect(tenantRows).toEqual(expected.tenantRows);
    // Both sides of the Paris midnight, and the network hour split across it.
    expect(new Set(rows.map((row) => row.day))).toEqual(new Set(['2026-06-10', '2026-06-11']));
    const bytes = tenantRows.filter((row) => row.app === '').map((row) => row.bytesIn);
    expect(bytes).toEqual([2 * 1_800_000, 2 * 1_800_000]);
    expect(
      tenantRows.find((row) => row.app === 'editor' && row.day === '2026-06-10'),
    ).toMatchObject({ devices: 2, launches: 2 });
  });

  it('changes nothing when its records are replayed from the start', async () => {
    const { db } = current();
    await ingestEvenings();
    const consumer = start();
    await drain(consumer);
    const before = await tables();
    expect(before.rows.length).toBeGreaterThan(0);
    await consumer.stop();
    await db
      .updateTable('stream_consumers')
      .set({ position: 0 })
      .where('name', '=', 'analytics')
      .execute();
    clock.advance(60_000);
    const again = start();
    expect((await again.lag()).records).toBeGreaterThan(0);
    await drain(again);
    expect(await tables()).toEqual(before);
  });

  it('adds a batch received in the same millisecond as one it already added', async () => {
    const { db } = current();
    const pipeline = ingestionPipeline(db, server, clock);
    const device = devices[0] as TestDevice;
    const events = evening();
    await ingest(pipeline, device, server, clock, events.slice(0, 5));
    const consumer = start();
    await drain(consumer);
    // Same `received_at` as the batch just added: the consumer must not take it for a replay.
    await ingest(pipeline, device, server, clock, events.slice(5), 0);
    await drain(consumer);
    const expected = await expectedTables(db, [device.id], {
      timeZone: 'UTC',
      maxOpenIntervalMs: 15 * MIN,
    });
    expect(await storedRows(db, tenantId)).toEqual(expected.rows);
    expect(await storedTenantRows(db, tenantId)).toEqual(expected.tenantRows);
    expect(await storedDeviceTotals(db, tenantId)).toEqual(deviceTotalsOf(expected.rows));
  });

  it('recomputes a day whose rows no longer match its events instead of adding to them', async () => {
    const { db } = current();
    const pipeline = ingestionPipeline(db, server, clock);
    const device = devices[0] as TestDevice;
    const events = evening();
    await ingest(pipeline, device, server, clock, events.slice(0, 2));
    const consumer = start();
    await drain(consumer);
    // The editor's open foreground span (15 min) is cut by the browser's focus 10 min in: its
    // row loses 5 minutes, which a row emptied by hand cannot give.
    await db.deleteFrom('aggregates').where('device_id', '=', device.id).execute();
    await ingest(pipeline, device, server, clock, events.slice(2, 3));
    await drain(consumer);
    const expected = await expectedTables(db, [device.id], {
      timeZone: 'UTC',
      maxOpenIntervalMs: 15 * MIN,
    });
    expect(await storedRows(db, tenantId)).toEqual(expected.rows);
  });

  it('keeps rows exact with two consumers of one name, and with concurrent workers of one device', async () => {
    const { db } = current();
    await ingestEvenings();
    // Two processes sharing the name share the work…
    // One record per transaction: the most interleaving.
    const first = start('analytics', undefined, 1);
    const second = start('analytics', undefined, 1);
    // …and two more names handle every record again, concurrently with them: recompute is
    // idempotent, so only the per-device lock keeps their tenant deltas from colliding.
    const third = start('analytics-shadow-1', undefined, 1);
    const fourth = start('analytics-shadow-2', undefined, 1);
    await Promise.all([drain(first), drain(second), drain(third), drain(fourth)]);
    const expected = await expectedTables(
      db,
      devices.map((d) => d.id),
      { timeZone: 'UTC', maxOpenIntervalMs: 15 * MIN },
    );
    expect(await storedRows(db, tenantId)).toEqual(expected.rows);
    expect(await storedTenantRows(db, tenantId)).toEqual(expected.tenantRows);
    expect(await storedDeviceTotals(db, tenantId)).toEqual(deviceTotalsOf(expected.rows));
  });

  // PGlite has one connection: nothing runs concurrently there to serialize.
  if (kind === 'postgres')
    it('serializes two workers on one device, so the tenant sums count it once', async () => {
      const { db } = current();
      const pipeline = ingestionPipeline(db, server, clock);
      await ingest(pipeline, devices[0] as TestDevice, server, clock, evening().slice(0, 4));
      // Writes to `aggregates` wait behind this lock while reads go on, so both workers get as
      // far as they can before writing: without the device lock, both would read the same
      // (empty) old rows and both add the device to the tenant rows.
      await db.connection().execute(async (blocker) => {
        await sql`begin`.execute(blocker);
        await sql`lock table aggregates in exclusive mode`.execute(blocker);
        const a = start('worker-a');
        const b = start('worker-b');
        const deadline = Date.now() + 10_000;
        for (;;) {
          const { rows } = await sql<{ waiting: number }>`
            select count(*)::int as waiting from pg_stat_activity
            where wait_event_type = 'Lock'
              and (query ilike '%aggregates%' or query ilike '%pg_advisory_xact_lock%')`.execute(
            // Not the blocker: activity statistics are a snapshot per transaction.
            db,
          );
          if ((rows[0]?.waiting ?? 0) >= 2) break;
          if (Date.now() > deadline) throw new Error('the workers never reached their writes');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await sql`commit`.execute(blocker);
        await Promise.all([drain(a), drain(b)]);
      });
      const expected = await expectedTables(db, [devices[0]?.id as string], {
        timeZone: 'UTC',
        maxOpenIntervalMs: 15 * MIN,
      });
      expect(await storedRows(db, tenantId)).toEqual(expected.rows);
      expect(await storedTenantRows(db, tenantId)).toEqual(expected.tenantRows);
    });

  it('rebuilds a range in the new time zone after a settings change, and only on request', async () => {
    const { db } = current();
    await ingestEvenings();
    const consumer = start();
    await drain(consumer);
    const ids = devices.map((d) => d.id);
    const utc = await expectedTables(db, ids, { timeZone: 'UTC', maxOpenIntervalMs: 15 * MIN });
    expect(await storedRows(db, tenantId)).toEqual(utc.rows);

    const update = await setTenantAnalyticsSettings(db, tenantId, {
      timeZone: 'Europe/Paris',
      maxOpenIntervalMs: 20 * MIN,
    });
    expect(update).toMatchObject({
      recomputeNeeded: true,
      previous: { timeZone: 'UTC', maxOpenIntervalMs: 15 * MIN, retentionDays: 90 },
      settings: {
        tenantId,
        timeZone: 'Europe/Paris',
        maxOpenIntervalMs: 20 * MIN,
        retentionDays: 90,
      },
    });
    // Past rows stay as computed until the recompute.
    expect(await storedRows(db, tenantId)).toEqual(utc.rows);
    const result = await recomputeActivity(db, {
      tenantId,
      from: '2026-06-09',
      to: '2026-06-12',
      clock,
    });
    expect(result).toMatchObject({ devices: 2, deviceDays: 8, frozenDays: [] });
    const paris = await expectedTables(db, ids, {
      timeZone: 'Europe/Paris',
      maxOpenIntervalMs: 20 * MIN,
    });
    expect(paris.rows).not.toEqual(utc.rows);
    expect(await storedRows(db, tenantId)).toEqual(paris.rows);
    expect(await storedTenantRows(db, tenantId)).toEqual(paris.tenantRows);
    // Again: nothing left to change.
    const second = await recomputeActivity(db, {
      tenantId,
      from: '2026-06-09',
      to: '2026-06-12',
      clock,
    });
    expect(second).toMatchObject({ upserted: 0, deleted: 0 });
    // A retention change alone does not call for a recompute.
    expect(
      (await setTenantAnalyticsSettings(db, tenantId, { retentionDays: 30 })).recomputeNeeded,
    ).toBe(false);
  });

  it('leaves days past the retention horizon as they are', async () => {
    const { db } = current();
    await ingestEvenings();
    const consumer = start();
    await drain(consumer);
    const before = await storedRows(db, tenantId);
    await db
      .deleteFrom('events')
      .where(
        'device_id',
        'in',
        devices.map((d) => d.id),
      )
      .execute();
    await setTenantAnalyticsSettings(db, tenantId, { retentionDays: 5 });
    const later = createFakeClock({ nowMs: MIDNIGHT_PARIS + 30 * 24 * HOUR });
    const result = await recomputeActivity(db, {
      tenantId,
      from: '2026-06-10',
      to: '2026-06-11',
      clock: later,
    });
    expect(result).toMatchObject({ deviceDays: 0, frozenDays: ['2026-06-10', '2026-06-11'] });
    expect(await storedRows(db, tenantId)).toEqual(before);
    // Within retention, erased events do empty their days.
    const erased = await recomputeActivity(db, {
      tenantId,
      from: '2026-06-10',
      to: '2026-06-11',
      clock,
    });
    expect(erased.frozenDays).toEqual([]);
    expect(await storedRows(db, tenantId)).toEqual([]);
    expect(await storedTenantRows(db, tenantId)).toEqual([]);
  });

  it('counts what was collected before a withdrawal, even when it arrives after, and nothing after it', async () => {
    const { db } = current();
    const withdrawnAtMs = MIDNIGHT_PARIS;
    const consent: ConsentHistorySource = {
      historyFor: async () => ({ canCollectAt: (_scope, atMs) => atMs < withdrawnAtMs }),
    };
    const pipeline = ingestionPipeline(db, server, clock, consent);
    const device = devices[0] as TestDevice;
    const before = envelope('activity.app.launched', withdrawnAtMs - HOUR, 1, { app: 'editor' });
    const after = envelope('activity.app.launched', withdrawnAtMs + HOUR, 2, { app: 'editor' });
    // Delivered after the withdrawal: `before` is accepted (collected while consented).
    await ingest(pipeline, device, server, clock, [before]);
    await expect(ingest(pipeline, device, server, clock, [after])).rejects.toThrow(/consent/);
    const consumer = start();
    await drain(consumer);
    expect(await storedRows(db, tenantId)).toEqual([
      expect.objectContaining({ day: '2026-06-10', app: 'editor', launches: 1 }),
    ]);
  });

  it('skips malformed records and other topics without stopping', async () => {
    const { db } = current();
    const warnings: unknown[] = [];
    await db
      .insertInto('outbox')
      .values([
        { tenant_id: tenantId, topic: 'events.ingested', payload: JSON.stringify({ deviceId: 7 }) },
        { tenant_id: tenantId, topic: 'webhooks.due', payload: JSON.stringify({ anything: true }) },
        {
          tenant_id: 'another-tenant',
          topic: 'events.ingested',
          payload: JSON.stringify({
            deviceId: devices[0]?.id,
            tenantId,
            batchId: 'b',
            receivedAt: new Date().toISOString(),
            count: 1,
          }),
        },
      ])
      .execute();
    await ingestEvenings();
    const consumer = start('analytics', {
      warn: (fields) => warnings.push(fields),
      debug: () => {},
    });
    await drain(consumer);
    expect(warnings).toHaveLength(2);
    expect((await storedRows(db, tenantId)).length).toBeGreaterThan(0);
  });

  it('refuses bad settings and ranges with invalid_argument, writing nothing', async () => {
    const { db } = current();
    const refusals = [
      setTenantAnalyticsSettings(db, tenantId, { timeZone: 'Mars/Olympus' }),
      setTenantAnalyticsSettings(db, tenantId, { maxOpenIntervalMs: 0 }),
      setTenantAnalyticsSettings(db, tenantId, { retentionDays: 1.5 }),
      setTenantAnalyticsSettings(db, tenantId, { timezone: 'UTC' } as never),
      setTenantAnalyticsSettings(db, '', { timeZone: 'UTC' }),
      recomputeActivity(db, { tenantId, from: '2026-06-12', to: '2026-06-10' }),
      recomputeActivity(db, { tenantId, from: '2026-02-30', to: '2026-03-01' }),
      recomputeActivity(db, { tenantId, from: '2006-01-01', to: '2026-01-01' }),
      recomputeActivity(db, {
        tenantId,
        deviceId: 'not-mine',
        from: '2026-06-10',
        to: '2026-06-10',
      }),
    ];
    for (const [index, refusal] of refusals.entries()) {
      const error = await refusal.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isInvalidArgumentError(error), `refusal ${index}: ${String(error)}`).toBe(true);
    }
    expect(await readTenantAnalyticsSettings(db, tenantId)).toEqual({
      tenantId,
      timeZone: 'UTC',
      maxOpenIntervalMs: 15 * MIN,
      retentionDays: 90,
    });
  });

  it.runIf(kind === 'postgres' || kind === 'pglite')(
    'takes the per-device lock in the transaction',
    async () => {
      const { db } = current();
      // The lock the consumer takes must exist on this engine (PGlite included) and be released
      // at commit: a second transaction takes it at once afterwards.
      await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext('fieldline.analytics:x'))`.execute(trx);
      });
      const { rows } = await sql<{ got: boolean }>`
      select pg_try_advisory_xact_lock(hashtext('fieldline.analytics:x')) as got`.execute(db);
      expect(rows[0]?.got).toBe(true);
    },
  );
});
