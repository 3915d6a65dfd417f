import { type RawBuilder, sql } from 'kysely';
import {
  DAY_MS,
  DEFAULT_EVENT_PARTITION,
  eventIdLowerBound,
  eventPartitionDay,
  eventPartitionName,
} from './event-partitions.js';

/**
 * Whatever runs raw SQL: a Kysely instance or transaction of any schema (migration 0009 uses
 * these helpers on an untyped one).
 * @internal
 */
export type SqlExecutor = Parameters<RawBuilder<unknown>['execute']>[0];

/** One day partition of `events`. */
export interface EventPartition {
  /** Its table name, `events_pYYYYMMDD`. */
  readonly name: string;
  /** 00:00 UTC of its day. */
  readonly dayStartMs: number;
}

/**
 * The day partitions attached to `events`, oldest first, read from the catalog. Tables that are
 * not named like a day partition (the DEFAULT one, any an operator attached) are left out.
 *
 * @param db - the database or a transaction.
 * @returns the partitions.
 * @internal
 */
export async function listEventPartitions(db: SqlExecutor): Promise<EventPartition[]> {
  const result = await sql<{ name: string }>`
    select c.relname as name
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = to_regclass('events')`.execute(db);
  const partitions: EventPartition[] = [];
  for (const { name } of result.rows) {
    const dayStartMs = eventPartitionDay(name);
    if (dayStartMs !== undefined) partitions.push({ name, dayStartMs });
  }
  return partitions.sort((a, b) => a.dayStartMs - b.dayStartMs);
}

/**
 * Creates and attaches the partition of `events` for one UTC day, unless it exists. Rows of that
 * day already in the DEFAULT partition move into it first: PostgreSQL refuses to attach a range
 * that DEFAULT holds rows of. Attaching (rather than `create table … partition of`) takes only a
 * SHARE UPDATE EXCLUSIVE lock on `events`, so ingestion goes on meanwhile.
 *
 * @param trx - an open transaction: the three steps must commit together.
 * @param dayStartMs - 00:00 UTC of the day.
 * @returns how many rows moved out of DEFAULT, or undefined when the partition existed.
 * @internal
 */
export async function createEventPartition(
  trx: SqlExecutor,
  dayStartMs: number,
): Promise<number | undefined> {
  const name = eventPartitionName(dayStartMs);
  const exists = await sql<{ found: boolean }>`
    select to_regclass(${name}) is not null as found`.execute(trx);
  if (exists.rows[0]?.found === true) return undefined;
  const from = sql.lit(eventIdLowerBound(dayStartMs));
  const to = sql.lit(eventIdLowerBound(dayStartMs + DAY_MS));
  const table = sql.table(name);
  await sql`create table ${table} (like events including defaults including constraints
    including generated including identity including storage including comments)`.execute(trx);
  const moved = await sql`
    with moved as (
      delete from ${sql.table(DEFAULT_EVENT_PARTITION)} where id >= ${from}::uuid and id < ${to}::uuid
      returning *)
    insert into ${table} select * from moved`.execute(trx);
  await sql`alter table events attach partition ${table} for values from (${from}) to (${to})`.execute(
    trx,
  );
  return Number(moved.numAffectedRows ?? 0n);
}
