import type { EventBatch, OpenedJsonMessage } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import {
  createIngestionContext,
  type EnrichedEvent,
} from '../../src/ingestion/ingestion-context.js';
import { createStoreEventsStep } from '../../src/ingestion/steps/store-events.js';
import { enforceRetention } from '../../src/retention/enforce-retention.js';
import { DAY_MS, eventPartitionName, utcDayStart } from '../../src/retention/event-partitions.js';
import { describeEachDatabase } from '../support/test-databases.js';

const HOUR_MS = 3_600_000;
// Far from the real date, so the partitions the migration made around today are not in the way.
const D = utcDayStart(Date.now()) + 400 * DAY_MS;
const NOW = D + 12 * HOUR_MS;
const T0 = NOW - 100 * DAY_MS;

/** A UUIDv7 made at `timeMs`; `n` keeps ids of one millisecond apart. */
function eventIdAt(timeMs: number, n: number): string {
  const time = timeMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

let counter = 0;

/** Stores events through the real store step; returns each id's status. */
async function store(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
  ids: readonly string[],
  receivedAtMs: number,
): Promise<Record<string, string | undefined>> {
  counter += 1;
  const ctx = createIngestionContext({
    device: { id: `device-${tenantId}`, tenantId, signingPublicKey: 'unused' },
    rawBody: new Uint8Array(),
    receivedAt: new Date(receivedAtMs),
  });
  const batchId = eventIdAt(receivedAtMs, counter);
  ctx.batch = { batchId, sentAt: new Date(receivedAtMs).toISOString(), events: [] } as EventBatch;
  // The store step reads the message id only; the rest of an opened frame is irrelevant here.
  ctx.message = { messageId: batchId } as OpenedJsonMessage;
  ctx.entries = ids.map((id, index) => {
    const enriched: EnrichedEvent = {
      id,
      tenantId,
      deviceId: `device-${tenantId}`,
      type: 'activity.app.launched',
      scope: 'activity',
      seq: index,
      occurredAt: new Date(receivedAtMs).toISOString(),
      receivedAt: new Date(receivedAtMs),
      data: { app: 'calc' },
    };
    return { index, id, input: {}, status: 'pending' as const, enriched };
  });
  await createStoreEventsStep({ db }).run(ctx, async () => undefined);
  return Object.fromEntries(ctx.entries.map((entry) => [entry.id, entry.status]));
}

async function partitionOf(db: Kysely<FieldlineDatabase>, id: string): Promise<string | undefined> {
  const result = await sql<{ partition: string }>`
    select tableoid::regclass::text as partition from events where id = ${id}::uuid`.execute(db);
  return result.rows[0]?.partition;
}

async function tableExists(db: Kysely<FieldlineDatabase>, name: string): Promise<boolean> {
  const result = await sql<{ found: boolean }>`
    select to_regclass(${name}) is not null as found`.execute(db);
  return result.rows[0]?.found === true;
}

async function countEvents(db: Kysely<FieldlineDatabase>, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const dayOf = (i: number) => utcDayStart(T0) + i * DAY_MS;
// Day i's event: 13:00 UTC, so it sits an hour after the horizons measured from NOW (12:00).
const idOf = (i: number, tenant: number) => eventIdAt(dayOf(i) + 13 * HOUR_MS, tenant);

describeEachDatabase('event retention', (current) => {
  const aggregatesSnapshot = async () =>
    current().db.selectFrom('aggregates').selectAll().orderBy(['device_id', 'day']).execute();

  it('creates the day partitions ahead of today, and only once', async () => {
    const { db } = current();
    await db
      .insertInto('tenants')
      .values([{ id: 'long' }, { id: 'short' }])
      .execute();
    await db
      .insertInto('tenant_settings')
      .values({ tenant_id: 'short', retention_days: 30 })
      .execute();
    const clock = createFakeClock({ nowMs: T0 });
    const first = await enforceRetention(db, { clock });
    expect(first.createdPartitions).toEqual(
      Array.from({ length: 8 }, (_, i) => eventPartitionName(dayOf(i))),
    );
    for (const name of first.createdPartitions) expect(await tableExists(db, name)).toBe(true);
    const wide = await enforceRetention(db, { clock, aheadDays: 100 });
    expect(wide.createdPartitions).toHaveLength(93);
    expect(wide.createdPartitions.at(-1)).toBe(eventPartitionName(dayOf(100)));
    expect(wide.partitions).toBe(101);
  });

  it('stores 100 days of events, each in its day partition, and answers duplicate across them', async () => {
    const { db } = current();
    for (let i = 0; i < 100; i += 1) {
      for (const [tenant, n] of [
        ['long', 1],
        ['short', 2],
      ] as const) {
        const statuses = await store(db, tenant, [idOf(i, n)], dayOf(i) + 13 * HOUR_MS);
        expect(statuses[idOf(i, n)]).toBe('accepted');
      }
    }
    expect(await partitionOf(db, idOf(0, 1))).toBe(eventPartitionName(dayOf(0)));
    expect(await partitionOf(db, idOf(57, 2))).toBe(eventPartitionName(dayOf(57)));
    const resent = [idOf(3, 1), idOf(50, 1), idOf(97, 1)];
    const statuses = await store(db, 'long', resent, NOW - HOUR_MS);
    expect(resent.map((id) => statuses[id])).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(await countEvents(db, 'long')).toBe(100);
    expect(await countEvents(db, 'short')).toBe(100);
    // Aggregates of the same days, which retention must leave alone.
    await db
      .insertInto('aggregates')
      .values(
        [0, 20, 80].map((i) => ({
          tenant_id: 'short',
          device_id: 'device-short',
          day: new Date(dayOf(i)).toISOString().slice(0, 10),
          app: 'calc',
          active_ms: 1000 + i,
          idle_ms: i,
        })),
      )
      .execute();
  });

  it('keeps ids outside the created days in DEFAULT', async () => {
    const { db } = current();
    const farFuture = eventIdAt(T0 + 2000 * DAY_MS, 7);
    const ancient = eventIdAt(T0 - 200 * DAY_MS, 8);
    const farFutureRecent = eventIdAt(T0 + 2000 * DAY_MS, 9);
    const soon = eventIdAt(D + 5 * DAY_MS + HOUR_MS, 10);
    await store(db, 'long', [farFuture, ancient], T0);
    await store(db, 'long', [farFutureRecent, soon], NOW - DAY_MS);
    for (const id of [farFuture, ancient, farFutureRecent, soon]) {
      expect(await partitionOf(db, id)).toBe('events_default');
    }
  });

  it('drops the partitions past the longest retention and deletes only shorter tenants’ older rows', async () => {
    const { db } = current();
    const before = await aggregatesSnapshot();
    // The analytics consumer's record of added batches goes a week after the longest horizon.
    await db
      .insertInto('analytics_applied')
      .values([
        { device_id: 'device-long', received_at: new Date(NOW - 98 * DAY_MS), events: 1 },
        { device_id: 'device-long', received_at: new Date(NOW - 96 * DAY_MS), events: 1 },
      ])
      .execute();
    const report = await enforceRetention(db, { clock: createFakeClock({ nowMs: NOW }) });
    expect(report.deletedAppliedBatches).toBe(1);
    const applied = await db
      .selectFrom('analytics_applied')
      .select('received_at')
      .where('device_id', '=', 'device-long')
      .execute();
    expect(applied.map((row) => new Date(row.received_at).getTime())).toEqual([NOW - 96 * DAY_MS]);
    // Days 0–9 ended before NOW − 90 days: dropped whole.
    const dropped = Array.from({ length: 10 }, (_, i) => eventPartitionName(dayOf(i)));
    expect(report.droppedPartitions).toEqual(dropped);
    for (const name of dropped) expect(await tableExists(db, name)).toBe(false);
    expect(await tableExists(db, eventPartitionName(dayOf(10)))).toBe(true);
    // The 90-day tenant keeps days 10–99 (+ the two DEFAULT rows still within retention).
    expect(await countEvents(db, 'long')).toBe(92);
    expect(await partitionOf(db, idOf(10, 1))).toBe(eventPartitionName(dayOf(10)));
    // The 30-day tenant lost days 10–69 by row, in the partitions that remain.
    expect(report.deletedRowsByTenant).toEqual({ short: 60 });
    expect(await countEvents(db, 'short')).toBe(30);
    expect(await partitionOf(db, idOf(69, 2))).toBeUndefined();
    expect(await partitionOf(db, idOf(70, 2))).toBe(eventPartitionName(dayOf(70)));
    // DEFAULT: the ancient id and the far-future id received 100 days ago are gone; the row of
    // a created day moved into its partition.
    expect(report.deletedFromDefault).toBe(2);
    expect(report.movedFromDefault).toBe(1);
    expect(await partitionOf(db, eventIdAt(D + 5 * DAY_MS + HOUR_MS, 10))).toBe(
      eventPartitionName(D + 5 * DAY_MS),
    );
    expect(await partitionOf(db, eventIdAt(T0 + 2000 * DAY_MS, 9))).toBe('events_default');
    expect(await aggregatesSnapshot()).toEqual(before);
    const audit = await db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('action', 'like', 'retention.%')
      .orderBy('seq')
      .execute();
    expect(audit.at(-2)).toEqual({
      action: 'retention.partitions_dropped',
      details: { partitions: dropped, retentionDays: 90 },
    });
    expect(audit.at(-1)).toEqual({
      action: 'retention.rows_deleted',
      details: { byTenant: { short: 60 }, fromDefault: 2, retentionDays: 90 },
    });
  });

  it('changes nothing when run again', async () => {
    const { db } = current();
    const auditBefore = await db.selectFrom('audit_log').select('seq').execute();
    const report = await enforceRetention(db, { clock: createFakeClock({ nowMs: NOW + HOUR_MS }) });
    expect(report).toMatchObject({
      createdPartitions: [],
      droppedPartitions: [],
      deletedRowsByTenant: {},
      deletedFromDefault: 0,
      deletedAppliedBatches: 0,
      movedFromDefault: 0,
    });
    expect(await countEvents(db, 'long')).toBe(92);
    expect(await countEvents(db, 'short')).toBe(30);
    expect(await db.selectFrom('audit_log').select('seq').execute()).toEqual(auditBefore);
  });

  it('refuses nonsense options with a typed error', async () => {
    await expect(enforceRetention(current().db, { aheadDays: -1 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(enforceRetention(current().db, { defaultRetentionDays: 0 })).rejects.toMatchObject(
      { code: 'invalid_argument' },
    );
  });
});
