import { InvalidArgumentError } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { FieldlineDatabase } from '../db/database-schema.js';
import {
  readTenantAnalyticsSettings,
  type TenantAnalyticsSettings,
} from './tenant-analytics-settings.js';

/** The changes {@link setTenantAnalyticsSettings} accepts; absent fields keep their value. */
export interface TenantAnalyticsSettingsChange {
  /** IANA time zone, e.g. `Europe/Paris`. */
  readonly timeZone?: string;
  /** 1 second to 24 hours, in ms. */
  readonly maxOpenIntervalMs?: number;
  /** 1 to 3650 days. */
  readonly retentionDays?: number;
}

/** What {@link setTenantAnalyticsSettings} did. */
export interface TenantAnalyticsSettingsUpdate {
  /** The settings now in force. */
  readonly settings: TenantAnalyticsSettings;
  /** The settings before the change. */
  readonly previous: TenantAnalyticsSettings;
  /**
   * True when the time zone or `maxOpenIntervalMs` changed: rows already computed still follow
   * the old values until {@link recomputeActivity} rebuilds them (the consumer uses the new ones
   * for the days it recomputes from now on, within its settings cache time).
   */
  readonly recomputeNeeded: boolean;
}

function isIanaZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const tenantIdSchema = z.string().min(1).max(200);
const changeSchema = z.strictObject({
  timeZone: z
    .string()
    .min(1)
    .max(100)
    .refine(isIanaZone, 'must be an IANA time zone this runtime knows (e.g. "UTC", "Europe/Paris")')
    .optional(),
  maxOpenIntervalMs: z.number().int().min(1000).max(86_400_000).optional(),
  retentionDays: z.number().int().min(1).max(3650).optional(),
});

/**
 * Sets a tenant's analytics settings (`tenant_settings`), validating them with zod. Changing the
 * time zone or `maxOpenIntervalMs` changes past days: the result says so in
 * `recomputeNeeded`; run {@link recomputeActivity} over the range to rebuild (the days past the
 * retention horizon cannot be rebuilt and keep their old figures).
 *
 * @param db - the Fieldline database.
 * @param tenantId - the tenant.
 * @param change - the fields to change.
 * @returns the new and previous settings, and whether past rows need a recompute.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} (`invalid_argument`)
 *   for an unknown time zone, an out-of-range value or an unknown key; nothing is written.
 * @example
 * ```ts
 * const { recomputeNeeded } = await setTenantAnalyticsSettings(db, 'acme', { timeZone: 'Europe/Paris' });
 * if (recomputeNeeded) await recomputeActivity(db, { tenantId: 'acme', from: '2026-09-01', to: '2026-11-30' });
 * ```
 */
export async function setTenantAnalyticsSettings(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
  change: TenantAnalyticsSettingsChange,
): Promise<TenantAnalyticsSettingsUpdate> {
  const tenant = tenantIdSchema.safeParse(tenantId);
  if (!tenant.success) {
    throw new InvalidArgumentError('tenantId must be a string of 1 to 200 characters.', {
      tenantId,
    });
  }
  const parsed = changeSchema.safeParse(change);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: issue.path.join('.'),
      message: issue.message,
    }));
    throw new InvalidArgumentError(
      `Invalid analytics settings: ${issues.map((i) => `${i.path || '(root)'} ${i.message}`).join('; ')}.`,
      { issues },
    );
  }
  const { timeZone, maxOpenIntervalMs, retentionDays } = parsed.data;
  return db.transaction().execute(async (trx) => {
    const previous = await readTenantAnalyticsSettings(trx, tenant.data);
    const settings: TenantAnalyticsSettings = {
      tenantId: tenant.data,
      timeZone: timeZone ?? previous.timeZone,
      maxOpenIntervalMs: maxOpenIntervalMs ?? previous.maxOpenIntervalMs,
      retentionDays: retentionDays ?? previous.retentionDays,
    };
    await trx
      .insertInto('tenant_settings')
      .values({
        tenant_id: settings.tenantId,
        time_zone: settings.timeZone,
        max_open_interval_ms: settings.maxOpenIntervalMs,
        retention_days: settings.retentionDays,
      })
      .onConflict((conflict) =>
        conflict.column('tenant_id').doUpdateSet({
          time_zone: settings.timeZone,
          max_open_interval_ms: settings.maxOpenIntervalMs,
          retention_days: settings.retentionDays,
          updated_at: sql<Date>`now()`,
        }),
      )
      .execute();
    return {
      settings,
      previous,
      recomputeNeeded:
        settings.timeZone !== previous.timeZone ||
        settings.maxOpenIntervalMs !== previous.maxOpenIntervalMs,
    };
  });
}
