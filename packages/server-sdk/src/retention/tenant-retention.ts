import { sql } from 'kysely';
import { z } from 'zod';
import type { SqlExecutor } from './event-partition-catalog.js';

/** Retention of one tenant, in days. */
export interface TenantRetention {
  readonly tenantId: string;
  readonly retentionDays: number;
}

/** What the retention job plans from `tenants` and `tenant_settings`. */
export interface RetentionPlan {
  /** The longest retention of any tenant: day partitions older than that are dropped whole. */
  readonly longestDays: number;
  /** Tenants keeping less than `longestDays`: their older rows are deleted by tenant. */
  readonly shorter: readonly TenantRetention[];
}

// A stored setting is untrusted input: one that is not a whole number of days from 1 to
// 100 years counts as the default, so a bad row never deletes more than the default would.
const retentionRow = z.object({
  tenant_id: z.string(),
  retention_days: z.coerce.number().int().min(1).max(36_500).nullable().catch(null),
});

/**
 * Reads every tenant's retention (`tenant_settings.retention_days`, else `defaultDays`) and
 * plans the run: the longest one, and the tenants that keep less.
 *
 * @param db - the database or a transaction.
 * @param defaultDays - retention of tenants without a (valid) setting.
 * @returns the plan.
 * @internal
 */
export async function planRetention(db: SqlExecutor, defaultDays: number): Promise<RetentionPlan> {
  const result = await sql<{ tenant_id: string; retention_days: unknown }>`
    select coalesce(t.id, s.tenant_id) as tenant_id, s.retention_days
    from tenants t full join tenant_settings s on s.tenant_id = t.id`.execute(db);
  const tenants: TenantRetention[] = [];
  for (const row of result.rows) {
    const parsed = retentionRow.safeParse(row);
    if (!parsed.success) continue;
    tenants.push({
      tenantId: parsed.data.tenant_id,
      retentionDays: parsed.data.retention_days ?? defaultDays,
    });
  }
  // With no tenant at all, nothing says a shorter horizon is safe: keep the default.
  const longestDays =
    tenants.length === 0
      ? defaultDays
      : tenants.reduce((longest, tenant) => Math.max(longest, tenant.retentionDays), 0);
  return {
    longestDays,
    shorter: tenants
      .filter((tenant) => tenant.retentionDays < longestDays)
      .sort((a, b) => a.tenantId.localeCompare(b.tenantId)),
  };
}
