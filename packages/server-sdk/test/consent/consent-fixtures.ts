// Tenants and devices inserted directly: enrollment is another module's job.
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';

export const KEY = 'A'.repeat(43);

/** Empties every table the consent service touches. */
export async function resetConsentTables(db: Kysely<FieldlineDatabase>): Promise<void> {
  // The audit log refuses TRUNCATE (migration 0005); a test resetting its schema may lift that.
  await sql`alter table audit_log disable trigger user`.execute(db);
  await sql`truncate audit_log, consent_ledger, policies, devices, tenants restart identity cascade`.execute(
    db,
  );
  await sql`alter table audit_log enable trigger user`.execute(db);
}

/** Inserts a tenant and its devices. */
export async function insertTenant(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
  deviceIds: readonly string[],
): Promise<void> {
  await db.insertInto('tenants').values({ id: tenantId }).execute();
  if (deviceIds.length === 0) return;
  await db
    .insertInto('devices')
    .values(
      deviceIds.map((id) => ({
        id,
        tenant_id: tenantId,
        hostname: `${id}.local`,
        os: 'linux',
        arch: 'x64',
        agent_version: '0.1.0',
        signing_public_key: KEY,
        encryption_public_key: KEY,
        drops: '{}',
      })),
    )
    .execute();
}
