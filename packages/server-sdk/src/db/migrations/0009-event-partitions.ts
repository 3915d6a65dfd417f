import { type Kysely, type Migration, sql } from 'kysely';
import { createEventPartition, type SqlExecutor } from '../../retention/event-partition-catalog.js';
import { DAY_MS, utcDayStart } from '../../retention/event-partitions.js';

// Raw events become a table partitioned BY RANGE (id), one partition per UTC day, so that
// retention drops a whole day at once instead of deleting rows (src/retention/). The id is a
// UUIDv7, whose leading 48 bits are the time the agent made the event, so ids sort by time; and
// the primary key (id) contains the partition key, so `on conflict (id)` still deduplicates
// across every partition. A DEFAULT partition takes ids outside the created days.
//
// The table is rebuilt in the migration's transaction: rename the old one, create the
// partitioned one with the same columns (LIKE) and indexes (their definitions read from the
// catalog, so indexes added by other migrations come along), create the partitions, copy the
// rows, drop the old table. On a large table this copies every row once: plan the upgrade.

/** Days of partitions created ahead of today, as the retention job does. */
const AHEAD_DAYS = 7;
/** Retention of tenants without a setting (migration 0007's column default). */
const DEFAULT_RETENTION_DAYS = 90;

interface IndexDefinition {
  readonly name: string;
  readonly definition: string;
  readonly primary: boolean;
}

async function indexesOf(db: SqlExecutor, table: string): Promise<IndexDefinition[]> {
  const result = await sql<IndexDefinition>`
    select c.relname as name, pg_get_indexdef(x.indexrelid) as definition, x.indisprimary as primary
    from pg_index x join pg_class c on c.oid = x.indexrelid
    where x.indrelid = to_regclass(${table})
    order by c.relname`.execute(db);
  return result.rows;
}

// pg_get_indexdef writes `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING …`: the same
// index on another table of the current schema is that text with the table swapped.
function onTable(definition: string, table: string): string {
  const rewritten = definition.replace(/ ON (ONLY )?\S+ USING /, ` ON ${table} USING `);
  if (rewritten === definition) throw new Error(`Unexpected index definition: ${definition}`);
  return rewritten;
}

const LIKE_OPTIONS = sql.raw(
  'including defaults including constraints including generated including identity including storage including comments',
);

async function dayRange(db: SqlExecutor, nowMs: number): Promise<[number, number]> {
  const today = utcDayStart(nowMs);
  const oldest = await sql<{ id: string | null }>`
    select id::text as id from events_unpartitioned order by id limit 1`.execute(db);
  const settings = await sql<{ days: number | null }>`
    select max(retention_days) as days from tenant_settings`.execute(db);
  const longestDays = Math.max(DEFAULT_RETENTION_DAYS, Number(settings.rows[0]?.days ?? 0));
  const oldestId = oldest.rows[0]?.id ?? null;
  const oldestMs =
    oldestId === null ? today : Number.parseInt(oldestId.replace('-', '').slice(0, 12), 16);
  // Days past every tenant's retention are not worth a partition: their rows wait in DEFAULT
  // for the retention job, which deletes them.
  const first = Math.min(today, Math.max(utcDayStart(oldestMs), today - longestDays * DAY_MS));
  return [first, today + AHEAD_DAYS * DAY_MS];
}

/** `events` partitioned by day on its UUIDv7 id, for retention by dropping whole partitions. */
export const eventPartitionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    const indexes = await indexesOf(db, 'events');
    await sql`alter table events rename to events_unpartitioned`.execute(db);
    for (const index of indexes) {
      if (index.primary) {
        await sql`alter index ${sql.id(index.name)} rename to events_unpartitioned_pkey`.execute(
          db,
        );
      } else {
        await sql`drop index ${sql.id(index.name)}`.execute(db);
      }
    }
    await sql`create table events (like events_unpartitioned ${LIKE_OPTIONS})
      partition by range (id)`.execute(db);
    await sql`alter table events add constraint events_pkey primary key (id)`.execute(db);
    for (const index of indexes) {
      if (!index.primary) await sql.raw(onTable(index.definition, 'events')).execute(db);
    }
    // The only row deletes of retention (a tenant keeping less than the longest retention)
    // find that tenant's rows of a partition through this index.
    await sql`create index events_tenant_id on events (tenant_id, id)`.execute(db);
    await sql`create table events_default partition of events default`.execute(db);
    const [first, last] = await dayRange(db, Date.now());
    for (let day = first; day <= last; day += DAY_MS) await createEventPartition(db, day);
    await sql`insert into events select * from events_unpartitioned`.execute(db);
    await sql`drop table events_unpartitioned`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    const indexes = await indexesOf(db, 'events');
    await sql`create table events_unpartitioned (like events ${LIKE_OPTIONS})`.execute(db);
    await sql`insert into events_unpartitioned select * from events`.execute(db);
    await sql`drop table events`.execute(db);
    await sql`alter table events_unpartitioned rename to events`.execute(db);
    await sql`alter table events add constraint events_pkey primary key (id)`.execute(db);
    for (const index of indexes) {
      if (index.primary || index.name === 'events_tenant_id') continue;
      await sql.raw(onTable(index.definition, 'events')).execute(db);
    }
  },
};
