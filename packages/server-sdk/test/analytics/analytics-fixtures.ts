// Shared set-up of the analytics consumer suites: events go through the real ingestion
// pipeline (sealed, validated, stored with their outbox row), the consumer runs on the real
// outbox stream, and the expected rows come from the pure aggregation of what was stored.

import { randomBytes } from 'node:crypto';
import type { Identity } from '@fieldline/core';
import type { FakeClock } from '@fieldline/core/testing';
import type { Kysely } from 'kysely';
import type { ActivityRow, DeviceActivityEvent } from '../../src/analytics/activity-row.js';
import { aggregateActivity } from '../../src/analytics/aggregate-activity.js';
import type { AnalyticsConsumer } from '../../src/analytics/create-analytics-consumer.js';
import { rollupActivity } from '../../src/analytics/rollup-activity.js';
import { toActivityRow } from '../../src/analytics/write-device-days.js';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import {
  type ConsentHistorySource,
  createIngestionPipeline,
  createStoreEventsStep,
  defaultIngestionSteps,
  type IngestionPipeline,
  replaceStep,
  runIngestion,
} from '../../src/ingestion/index.js';
import { makeBatch, sealedBody, type TestDevice } from '../ingestion/ingestion-fixtures.js';

export { HOUR, MIN } from './activity-events.js';

type Db = Kysely<FieldlineDatabase>;

const allowAll: ConsentHistorySource = {
  historyFor: async () => ({ canCollectAt: () => true }),
};

/**
 * The default pipeline, with outbox messages listing ids only up to 3 events, so larger
 * batches take the consumer's read by device and `received_at`.
 */
export function ingestionPipeline(
  db: Db,
  server: Identity,
  clock: FakeClock,
  consent: ConsentHistorySource = allowAll,
): IngestionPipeline {
  const steps = defaultIngestionSteps({
    db,
    serverIdentity: server,
    consent,
    audit: () => {},
    clock,
  });
  return createIngestionPipeline(
    replaceStep(steps, 'store-events', createStoreEventsStep({ db, maxOutboxIds: 3 })),
  );
}

/**
 * Sends one batch of one device through the pipeline; a second after the previous one by
 * default, so `received_at` differs (`advanceMs: 0` stores two batches with the same one).
 */
export async function ingest(
  pipeline: IngestionPipeline,
  device: TestDevice,
  server: Identity,
  clock: FakeClock,
  events: readonly unknown[],
  advanceMs = 1000,
): Promise<void> {
  clock.advance(advanceMs);
  const rawBody = await sealedBody(device, server, clock, makeBatch([...events]));
  const result = await runIngestion(pipeline, {
    device,
    rawBody,
    receivedAt: new Date(clock.now()),
  });
  const rejected = result.results.filter((r) => r.status === 'rejected');
  if (rejected.length > 0) throw new Error(`events rejected: ${JSON.stringify(rejected)}`);
}

/** A UUIDv7-shaped id unique to this test process and `n`. */
const prefix = randomBytes(6).toString('hex');
export function uniqueEventId(n: number): string {
  return `${prefix.slice(0, 8)}-${prefix.slice(8, 12)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Waits until the consumer has nothing left to do; the bound only turns a hang into a failure. */
export async function drain(consumer: AnalyticsConsumer): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await consumer.lag()).records > 0) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the consumer to drain');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The stored events of some devices, as the analytics functions take them. */
export async function storedEvents(
  db: Db,
  deviceIds: readonly string[],
): Promise<DeviceActivityEvent[]> {
  if (deviceIds.length === 0) return [];
  const rows = await db
    .selectFrom('events')
    .select(['id', 'device_id', 'type', 'occurred_at', 'seq', 'data'])
    .where('device_id', 'in', [...deviceIds])
    .execute();
  return rows.map((row) => ({
    deviceId: row.device_id,
    event: {
      id: row.id,
      type: row.type,
      occurredAt: new Date(row.occurred_at).toISOString(),
      seq: Number(row.seq),
      data: row.data,
    },
  }));
}

/** The `aggregates` rows of a tenant, as {@link ActivityRow}s sorted like aggregateActivity's. */
export async function storedRows(db: Db, tenantId: string): Promise<ActivityRow[]> {
  const rows = await db
    .selectFrom('aggregates')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('device_id')
    .orderBy('day')
    .orderBy('app')
    .execute();
  return rows.map(toActivityRow);
}

/** A tenant row: the daily sums over its devices and how many devices have a row. */
export interface TenantRow {
  readonly day: string;
  readonly app: string;
  readonly devices: number;
  readonly activeMs: number;
  readonly idleMs: number;
  readonly launches: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export async function storedTenantRows(db: Db, tenantId: string): Promise<TenantRow[]> {
  const rows = await db
    .selectFrom('tenant_aggregates')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('day')
    .orderBy('app')
    .execute();
  return rows.map((row) => ({
    day: row.day,
    app: row.app,
    devices: Number(row.devices),
    activeMs: Number(row.active_ms),
    idleMs: Number(row.idle_ms),
    launches: Number(row.launches),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
  }));
}

/** A device's totals of a day over its apps (`device_day_totals`). */
export interface DeviceTotalRow {
  readonly deviceId: string;
  readonly day: string;
  readonly activeMs: number;
  readonly idleMs: number;
  readonly launches: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export async function storedDeviceTotals(db: Db, tenantId: string): Promise<DeviceTotalRow[]> {
  const rows = await db
    .selectFrom('device_day_totals')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('device_id')
    .orderBy('day')
    .execute();
  return rows.map((row) => ({
    deviceId: row.device_id,
    day: row.day,
    activeMs: Number(row.active_ms),
    idleMs: Number(row.idle_ms),
    launches: Number(row.launches),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
  }));
}

/** Sums rows over apps, per device and day, sorted by device then day. */
export function deviceTotalsOf(rows: readonly ActivityRow[]): DeviceTotalRow[] {
  const totals = new Map<string, { -readonly [K in keyof DeviceTotalRow]: DeviceTotalRow[K] }>();
  for (const row of rows) {
    const key = `${row.deviceId}\u0000${row.day}`;
    let total = totals.get(key);
    if (total === undefined) {
      total = {
        deviceId: row.deviceId,
        day: row.day,
        activeMs: 0,
        idleMs: 0,
        launches: 0,
        bytesIn: 0,
        bytesOut: 0,
      };
      totals.set(key, total);
    }
    total.activeMs += row.activeMs;
    total.idleMs += row.idleMs;
    total.launches += row.launches;
    total.bytesIn += row.bytesIn;
    total.bytesOut += row.bytesOut;
  }
  return [...totals.values()].sort((a, b) =>
    a.deviceId !== b.deviceId ? (a.deviceId < b.deviceId ? -1 : 1) : a.day < b.day ? -1 : 1,
  );
}

/** What the tables must hold: the pure aggregation of every stored event, and its tenant sums. */
export async function expectedTables(
  db: Db,
  deviceIds: readonly string[],
  options: { timeZone: string; maxOpenIntervalMs: number },
): Promise<{ rows: ActivityRow[]; tenantRows: TenantRow[] }> {
  const rows = aggregateActivity(await storedEvents(db, deviceIds), options);
  const devices = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.day}\u0000${row.app}`;
    devices.set(key, (devices.get(key) ?? 0) + 1);
  }
  const tenantRows = rollupActivity(rows, { period: 'day', perDevice: false }).map((sum) => ({
    day: sum.period,
    app: sum.app,
    devices: devices.get(`${sum.period}\u0000${sum.app}`) ?? 0,
    activeMs: sum.activeMs,
    idleMs: sum.idleMs,
    launches: sum.launches,
    bytesIn: sum.bytesIn,
    bytesOut: sum.bytesOut,
  }));
  return { rows, tenantRows };
}
