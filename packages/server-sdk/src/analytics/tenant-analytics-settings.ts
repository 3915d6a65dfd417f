import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { DEFAULT_MAX_OPEN_INTERVAL_MS } from './activity-row.js';

/** What shapes a tenant's activity figures and how long its raw events are kept. */
export interface TenantAnalyticsSettings {
  /** The tenant. */
  readonly tenantId: string;
  /** IANA time zone of the tenant's local days. */
  readonly timeZone: string;
  /** How long an open focus or idle interval is assumed, at most (docs/analytics.md). */
  readonly maxOpenIntervalMs: number;
  /** Days raw events are kept; days older than that are no longer recomputed. */
  readonly retentionDays: number;
}

/** The settings of a tenant without a `tenant_settings` row (migration 0007's defaults). */
export const DEFAULT_TENANT_ANALYTICS_SETTINGS: Omit<TenantAnalyticsSettings, 'tenantId'> = {
  timeZone: 'UTC',
  maxOpenIntervalMs: DEFAULT_MAX_OPEN_INTERVAL_MS,
  retentionDays: 90,
};

/**
 * Reads a tenant's analytics settings; a tenant without a `tenant_settings` row gets
 * {@link DEFAULT_TENANT_ANALYTICS_SETTINGS}.
 *
 * @param db - the Fieldline database (or a transaction on it).
 * @param tenantId - the tenant.
 * @returns its settings.
 * @example
 * ```ts
 * const { timeZone } = await readTenantAnalyticsSettings(db, 'acme');
 * ```
 */
export async function readTenantAnalyticsSettings(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
): Promise<TenantAnalyticsSettings> {
  const row = await db
    .selectFrom('tenant_settings')
    .select(['time_zone', 'max_open_interval_ms', 'retention_days'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if (row === undefined) return { tenantId, ...DEFAULT_TENANT_ANALYTICS_SETTINGS };
  return {
    tenantId,
    timeZone: row.time_zone,
    maxOpenIntervalMs: Number(row.max_open_interval_ms),
    retentionDays: Number(row.retention_days),
  };
}
