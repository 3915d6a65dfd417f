import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * The IANA time zone of a tenant's local days (`tenant_settings.time_zone`), `UTC` when the
 * tenant has no settings row.
 *
 * @param db - the database or a transaction.
 * @param tenant - the tenant.
 * @returns the zone name.
 * @example
 * ```ts
 * const zone = await tenantTimeZone(db, 'acme'); // 'Europe/Paris'
 * ```
 */
export async function tenantTimeZone(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
): Promise<string> {
  const row = await db
    .selectFrom('tenant_settings')
    .select('time_zone')
    .where('tenant_id', '=', tenant)
    .executeTakeFirst();
  return row?.time_zone ?? 'UTC';
}
