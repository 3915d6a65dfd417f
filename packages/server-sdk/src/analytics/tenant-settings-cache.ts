import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import {
  readTenantAnalyticsSettings,
  type TenantAnalyticsSettings,
} from './tenant-analytics-settings.js';

/** Tenant settings kept for a short while, so a busy consumer does not read them per record. @internal */
export interface TenantSettingsCache {
  get(db: Kysely<FieldlineDatabase>, tenantId: string): Promise<TenantAnalyticsSettings>;
}

/**
 * A cache of {@link readTenantAnalyticsSettings} whose entries live `ttlMs`: a settings change
 * reaches the consumer within that time (and the rows computed meanwhile are fixed by the
 * recompute a time-zone change calls for anyway).
 * @internal
 */
export function createTenantSettingsCache(clock: Clock, ttlMs: number): TenantSettingsCache {
  const entries = new Map<string, { settings: TenantAnalyticsSettings; expiresAtMs: number }>();
  return {
    async get(db, tenantId) {
      const nowMs = clock.now();
      const cached = entries.get(tenantId);
      if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.settings;
      const settings = await readTenantAnalyticsSettings(db, tenantId);
      // Bounded: tenants are few, but a stream of records from many tenants must not grow it forever.
      if (entries.size >= 10_000) entries.clear();
      entries.set(tenantId, { settings, expiresAtMs: nowMs + ttlMs });
      return settings;
    },
  };
}
