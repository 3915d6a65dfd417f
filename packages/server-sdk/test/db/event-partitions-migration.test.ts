import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import { eventPartitionsMigration } from '../../src/db/migrations/0009-event-partitions.js';
import { DAY_MS, eventPartitionName, utcDayStart } from '../../src/retention/event-partitions.js';
import { describeEachDatabase } from '../support/test-databases.js';

function eventIdAt(timeMs: number, n: number): string {
  const time = timeMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

async function relkind(db: Kysely<FieldlineDatabase>, name: string): Promise<string | undefined> {
  const result = await sql<{ kind: string }>`
    select relkind::text as kind from pg_class where oid = to_regclass(${name})`.execute(db);
  return result.rows[0]?.kind;
}

async function indexNames(db: Kysely<FieldlineDatabase>): Promise<string[]> {
  const result = await sql<{ name: string }>`
    select c.relname as name from pg_index x join pg_class c on c.oid = x.indexrelid
    where x.indrelid = to_regclass('events') order by 1`.execute(db);
  return result.rows.map((row) => row.name);
}

// In one transaction each, as Kysely's migrator runs them on PostgreSQL and PGlite.
const runUp = (db: Kysely<FieldlineDatabase>) =>
  db.transaction().execute((trx) => eventPartitionsMigration.up(trx));
const runDown = (db: Kysely<FieldlineDatabase>) =>
  db.transaction().execute(async (trx) => {
    await eventPartitionsMigration.down?.(trx);
  });

describeEachDatabase('migration 0009 (event partitions)', (current) => {
  it('converts an empty table back and forth', async () => {
    const { db } = current();
    expect(await relkind(db, 'events')).toBe('p');
    await runDown(db);
    expect(await relkind(db, 'events')).toBe('r');
    await runUp(db);
    expect(await relkind(db, 'events')).toBe('p');
    expect(await relkind(db, 'events_default')).toBe('r');
    expect(await relkind(db, eventPartitionName(utcDayStart(Date.now())))).toBe('r');
  });

  it('keeps every row of a table that already holds events, and its indexes', async () => {
    const { db } = current();
    await runDown(db);
    // An index another migration added before this one must come along.
    await sql`create index events_type on events (type)`.execute(db);
    const now = Date.now();
    const times = [now - 10 * DAY_MS, now - DAY_MS, now, now + 30 * DAY_MS, now - 1000 * DAY_MS];
    const rows = times.map((timeMs, n) => ({
      id: eventIdAt(timeMs, n),
      tenant_id: 'acme',
      device_id: `d${n % 2}`,
      type: 'activity.app.launched',
      scope: 'activity',
      seq: n,
      occurred_at: new Date(timeMs).toISOString(),
      received_at: new Date(now).toISOString(),
      data: JSON.stringify({ app: `app-${n}` }),
    }));
    await db.insertInto('events').values(rows).execute();
    const before = await db.selectFrom('events').selectAll().orderBy('id').execute();

    await runUp(db);

    expect(await relkind(db, 'events')).toBe('p');
    expect(await db.selectFrom('events').selectAll().orderBy('id').execute()).toEqual(before);
    const placed = await sql<{ id: string; partition: string }>`
      select id::text as id, tableoid::regclass::text as partition from events order by id`.execute(
      db,
    );
    const partitionOf = new Map(placed.rows.map((row) => [row.id, row.partition]));
    // Days from the oldest row within the longest retention up to a week ahead get partitions;
    // the rest waits in DEFAULT for the retention job.
    expect(partitionOf.get(rows[0]?.id ?? '')).toBe(eventPartitionName(utcDayStart(times[0] ?? 0)));
    expect(partitionOf.get(rows[2]?.id ?? '')).toBe(eventPartitionName(utcDayStart(now)));
    expect(partitionOf.get(rows[3]?.id ?? '')).toBe('events_default');
    expect(partitionOf.get(rows[4]?.id ?? '')).toBe('events_default');
    // events_device_received comes from 0011, which ran before this down and up.
    expect(await indexNames(db)).toEqual([
      'events_device_received',
      'events_device_time',
      'events_pkey',
      'events_tenant_id',
      'events_type',
    ]);
    // Dedup by primary key still spans every partition.
    const again = await sql<{ id: string }>`
      insert into events select * from events where id = ${rows[0]?.id}::uuid
      on conflict (id) do nothing returning id`.execute(db);
    expect(again.rows).toEqual([]);
  });
});
