import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ActivityRow } from './activity-row.js';
import { aggregateActivity } from './aggregate-activity.js';
import { dayWindows, inWindow, mergeWindows } from './day-windows.js';
import { readWindowEvents } from './read-device-events.js';
import { resolveActivityOptions } from './resolve-activity-options.js';
import type { TenantAnalyticsSettings } from './tenant-analytics-settings.js';
import { type DeviceDaysWrite, writeDeviceDays } from './write-device-days.js';

const DAY_MS = 86_400_000;

/** What {@link recomputeDeviceDays} did. @internal */
export interface DeviceDaysRecompute extends DeviceDaysWrite {
  /** Days recomputed. */
  readonly days: readonly string[];
  /** Days left as they are: they start before the retention horizon, whose raw events may be gone. */
  readonly frozenDays: readonly string[];
}

/**
 * Serializes the work on one device across transactions (and processes): every writer of a
 * device's rows takes this lock first, in the transaction that writes them, so the tenant
 * deltas of two writers never both start from the same old rows.
 * @internal
 */
export function lockDevice(db: Kysely<FieldlineDatabase>, deviceId: string): Promise<void> {
  return lockDevices(db, [deviceId]);
}

/**
 * {@link lockDevice} for several devices in one statement, in the order of their lock keys, so
 * two transactions locking overlapping sets never wait on each other in a cycle.
 * @internal
 */
export async function lockDevices(
  db: Kysely<FieldlineDatabase>,
  deviceIds: readonly string[],
): Promise<void> {
  if (deviceIds.length === 0) return;
  const keys = [...new Set(deviceIds)].map((id) => `fieldline.analytics:${id}`);
  // The sorted subquery feeds the lock calls row by row, in its order.
  await sql`
    select pg_advisory_xact_lock(h) from (
      select distinct hashtext(k) as h
      from jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb) as k order by 1
    ) as sorted`.execute(db);
}

/**
 * Recomputes one device's rows of `days` from its stored events and replaces them (see
 * {@link writeDeviceDays}). Each day is aggregated from its own window only (docs/analytics.md,
 * "How the consumer works"), so a day's rows depend on the stored events alone, never on
 * which other days were recomputed with it. Days starting (less `maxOpenIntervalMs`) before
 * the retention horizon are frozen: their raw events may already be deleted, and recomputing
 * them would erase figures that are meant to be kept.
 *
 * `db` must be a transaction; the caller takes {@link lockDevice} in it first.
 * @internal
 */
export async function recomputeDeviceDays(
  db: Kysely<FieldlineDatabase>,
  target: {
    readonly deviceId: string;
    readonly days: readonly string[];
    readonly settings: TenantAnalyticsSettings;
    readonly nowMs: number;
  },
): Promise<DeviceDaysRecompute> {
  const { deviceId, settings, nowMs } = target;
  const options = { timeZone: settings.timeZone, maxOpenIntervalMs: settings.maxOpenIntervalMs };
  const { calendar, maxOpenIntervalMs } = resolveActivityOptions(options);
  const horizonMs = nowMs - settings.retentionDays * DAY_MS;
  const windows = dayWindows(calendar, [...new Set(target.days)].sort(), maxOpenIntervalMs);
  const live = windows.filter((w) => w.fromMs >= horizonMs);
  const frozenDays = windows.filter((w) => w.fromMs < horizonMs).map((w) => w.day);
  const events = await readWindowEvents(db, deviceId, mergeWindows(live));
  const rows: ActivityRow[] = [];
  for (const window of live) {
    const mine = events.filter((event) => inWindow(window, event.type, event.atMs));
    for (const row of aggregateActivity(mine, options)) {
      if (row.day === window.day) rows.push(row);
    }
  }
  const days = live.map((w) => w.day);
  const written = await writeDeviceDays(db, { tenantId: settings.tenantId, deviceId, days }, rows);
  return { ...written, days, frozenDays };
}
