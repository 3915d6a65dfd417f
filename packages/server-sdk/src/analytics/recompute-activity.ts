import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createLocalCalendar } from './local-calendar.js';
import { lockDevice, recomputeDeviceDays } from './recompute-device-days.js';
import { readTenantAnalyticsSettings } from './tenant-analytics-settings.js';

/** The range {@link recomputeActivity} rebuilds. */
export interface RecomputeActivityRange {
  /** The tenant whose rows are rebuilt (its current settings are used). */
  readonly tenantId: string;
  /**
   * One device of the tenant only.
   * @default every device of the tenant (enrolled, or with rows in the range)
   */
  readonly deviceId?: string;
  /** First local day, `YYYY-MM-DD`. */
  readonly from: string;
  /** Last local day (inclusive), `YYYY-MM-DD`; at most 3660 days after `from`. */
  readonly to: string;
  /**
   * Time source for the retention horizon.
   * @default systemClock
   */
  readonly clock?: Clock;
}

/** What {@link recomputeActivity} did. */
export interface RecomputeActivityResult {
  /** Devices whose rows were rebuilt. */
  readonly devices: number;
  /** Device-days recomputed. */
  readonly deviceDays: number;
  /** Device rows inserted or changed. */
  readonly upserted: number;
  /** Device rows deleted. */
  readonly deleted: number;
  /** Days of the range left as they are: past the retention horizon (their raw events may be gone). */
  readonly frozenDays: readonly string[];
}

const isoDay = z.iso.date();
const rangeSchema = z.object({
  tenantId: z.string().min(1).max(200),
  deviceId: z.string().min(1).max(200).optional(),
  from: isoDay,
  to: isoDay,
});

/** Days per transaction: bounds how long one device's lock is held. */
const DAYS_PER_TRANSACTION = 31;
const MAX_RANGE_DAYS = 3660;

/**
 * Rebuilds the activity rows of a tenant (or one of its devices) over a range of local days
 * from the stored events of the batches the consumer has added (`analytics_applied`; a batch
 * the consumer has not reached yet is added by it later), with the tenant's current settings:
 * the operator's tool after a
 * time-zone or `maxOpenIntervalMs` change ({@link setTenantAnalyticsSettings} says when one is
 * needed), or after raw events were erased. Rows of the range are replaced exactly as the
 * analytics consumer replaces them (device rows and tenant rows, under the device's lock), in
 * one transaction per device and 31 days, so it can run while the consumer runs. Days past
 * the retention horizon are left as they are and listed in `frozenDays`.
 *
 * @param db - the Fieldline database.
 * @param range - tenant, optional device, first and last day.
 * @returns counts of what changed.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} (`invalid_argument`)
 *   for a malformed day, `from` after `to`, a range over 3660 days, or a `deviceId` that is not
 *   a device of the tenant.
 * @example
 * ```ts
 * await setTenantAnalyticsSettings(db, 'acme', { timeZone: 'Europe/Paris' });
 * await recomputeActivity(db, { tenantId: 'acme', from: '2026-09-01', to: '2026-11-30' });
 * ```
 */
export async function recomputeActivity(
  db: Kysely<FieldlineDatabase>,
  range: RecomputeActivityRange,
): Promise<RecomputeActivityResult> {
  const parsed = rangeSchema.safeParse(range);
  if (!parsed.success) {
    throw new InvalidArgumentError(
      `Invalid recompute range: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}.`,
      { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    );
  }
  const { tenantId, deviceId, from, to } = parsed.data;
  const spanDays = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
  if (spanDays < 0 || spanDays >= MAX_RANGE_DAYS) {
    throw new InvalidArgumentError(
      `The range must run forward and cover at most ${MAX_RANGE_DAYS} days; got ${from} to ${to}.`,
      { from, to },
    );
  }
  const clock = range.clock ?? systemClock;
  const settings = await readTenantAnalyticsSettings(db, tenantId);
  const calendar = createLocalCalendar(settings.timeZone);
  const days: string[] = [];
  for (let day = from; day <= to; day = calendar.nextDay(day)) days.push(day);

  let devices: string[];
  if (deviceId !== undefined) {
    const device = await db
      .selectFrom('devices')
      .select('id')
      .where('id', '=', deviceId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (device === undefined) {
      throw new InvalidArgumentError(
        `Device ${JSON.stringify(deviceId)} is not a device of tenant ${JSON.stringify(tenantId)}.`,
        { tenantId, deviceId },
      );
    }
    devices = [deviceId];
  } else {
    const rows = await db
      .selectFrom('devices')
      .select('id as deviceId')
      .where('tenant_id', '=', tenantId)
      .union(
        db
          .selectFrom('aggregates')
          .select('device_id as deviceId')
          .where('tenant_id', '=', tenantId)
          .where('day', '>=', from)
          .where('day', '<=', to),
      )
      .execute();
    devices = rows.map((row) => row.deviceId).sort();
  }

  let deviceDays = 0;
  let upserted = 0;
  let deleted = 0;
  const frozen = new Set<string>();
  for (const device of devices) {
    for (let start = 0; start < days.length; start += DAYS_PER_TRANSACTION) {
      const chunk = days.slice(start, start + DAYS_PER_TRANSACTION);
      const result = await db.transaction().execute(async (trx) => {
        await lockDevice(trx, device);
        return recomputeDeviceDays(trx, {
          deviceId: device,
          days: chunk,
          settings,
          nowMs: clock.now(),
        });
      });
      deviceDays += result.days.length;
      upserted += result.upserted;
      deleted += result.deleted;
      for (const day of result.frozenDays) frozen.add(day);
    }
  }
  return { devices: devices.length, deviceDays, upserted, deleted, frozenDays: [...frozen].sort() };
}
