import { type Kysely, type Migration, type MigrationResultSet, Migrator, sql } from 'kysely';
import { initialMigration } from './migrations/0001-initial.js';
import { realtimeMigration } from './migrations/0002-realtime.js';
import { deviceStandingMigration } from './migrations/0004-device-standing.js';
import { auditGuardMigration } from './migrations/0005-audit-guard.js';
import { streamConsumersMigration } from './migrations/0006-stream-consumers.js';
import { analyticsMigration } from './migrations/0007-analytics.js';
import { webhooksMigration } from './migrations/0008-webhooks.js';
import { eventPartitionsMigration } from './migrations/0009-event-partitions.js';
import { outboxRelayMigration } from './migrations/0010-outbox-relay.js';
import { analyticsExtraMigration } from './migrations/0011-analytics-extra.js';
import { deviceDayTotalsMigration } from './migrations/0012-device-day-totals.js';
import { analyticsAppliedMigration } from './migrations/0013-analytics-applied.js';
import { consentLinksMigration } from './migrations/0014-consent-links.js';
import { accountsMigration } from './migrations/0015-accounts.js';

/** Every migration, by name, in order. Names sort lexically: keep the numeric prefix. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-initial': initialMigration,
  '0002-realtime': realtimeMigration,
  '0004-device-standing': deviceStandingMigration,
  '0005-audit-guard': auditGuardMigration,
  '0006-stream-consumers': streamConsumersMigration,
  '0007-analytics': analyticsMigration,
  '0008-webhooks': webhooksMigration,
  '0009-event-partitions': eventPartitionsMigration,
  '0010-outbox-relay': outboxRelayMigration,
  '0011-analytics-extra': analyticsExtraMigration,
  '0012-device-day-totals': deviceDayTotalsMigration,
  '0013-analytics-applied': analyticsAppliedMigration,
  '0014-consent-links': consentLinksMigration,
  '0015-accounts': accountsMigration,
};

/**
 * Brings the database schema up to date. Safe to run on every start and from
 * several instances at once (Kysely's migrator takes a lock).
 *
 * @param db - any Kysely instance on PostgreSQL or PGlite.
 * @returns Kysely's result set (which migrations ran).
 * @throws the migration error, when one fails; the failed migration is rolled back.
 * @example
 * ```ts
 * await migrateToLatest(db);
 * ```
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<MigrationResultSet> {
  // Kysely looks for its bookkeeping tables in every schema; pinned to the connection's own
  // schema, two databases in schemas of one PostgreSQL (tests, tenants) never see each other's.
  const current = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = current.rows[0]?.schema;
  const migrator = new Migrator({
    db: db as unknown as Kysely<unknown>,
    provider: { getMigrations: async () => ({ ...migrations }) },
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const result = await migrator.migrateToLatest();
  if (result.error !== undefined) throw result.error;
  return result;
}
