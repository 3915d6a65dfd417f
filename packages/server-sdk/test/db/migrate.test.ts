import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.js';
import { describeEachDatabase } from '../support/test-databases.js';

const TABLES = [
  'aggregates',
  'analytics_applied',
  'audit_log',
  'commands',
  'configs',
  'consent_ledger',
  'consent_link_nonces',
  'consent_page_sessions',
  'consent_refusals',
  'dead_letters',
  'device_day_totals',
  'device_tokens',
  'devices',
  'events',
  'install_tokens',
  'login_attempts',
  'outbox',
  'outbox_relay_leases',
  'policies',
  'reports',
  'seen_messages',
  'sessions',
  'setup_tokens',
  'stream_consumers',
  'tenant_aggregates',
  'tenant_settings',
  'tenants',
  'user_roles',
  'user_sessions',
  'users',
  'webhook_deliveries',
  'webhook_endpoints',
];

describeEachDatabase('migrations', (current) => {
  it('create every table', async () => {
    const { rows } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = current_schema() and table_name not like 'kysely_%'
        and table_name not in (
          select relname from pg_class
          where relispartition and relnamespace = current_schema()::regnamespace)
      order by table_name`.execute(current().db);
    expect(rows.map((row) => row.table_name)).toEqual(TABLES);
  });

  it('are idempotent', async () => {
    const result = await migrateToLatest(current().db);
    expect(result.results).toEqual([]);
  });

  it('read int8 as numbers and dates as text', async () => {
    const { db } = current();
    await db.insertInto('tenants').values({ id: 'acme' }).execute();
    await db
      .insertInto('aggregates')
      .values({
        tenant_id: 'acme',
        device_id: 'd1',
        day: '2026-11-21',
        app: 'calc',
        active_ms: 2 ** 40,
        idle_ms: 5,
      })
      .execute();
    const row = await db.selectFrom('aggregates').selectAll().executeTakeFirstOrThrow();
    expect(row.day).toBe('2026-11-21');
    expect(row.active_ms).toBe(2 ** 40);
  });
});
