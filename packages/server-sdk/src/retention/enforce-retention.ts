import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';
import { type Kysely, sql, type Transaction } from 'kysely';
import { appendAudit } from '../audit/append-audit.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createEventPartition, listEventPartitions } from './event-partition-catalog.js';
import {
  DAY_MS,
  DEFAULT_EVENT_PARTITION,
  eventIdLowerBound,
  eventPartitionName,
  utcDayStart,
} from './event-partitions.js';
import { planRetention } from './tenant-retention.js';

/** Options of {@link enforceRetention}. */
export interface EnforceRetentionOptions {
  /**
   * The time the horizons are measured from.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Days of partitions kept ready after today, so that events are never routed to DEFAULT
   * while the job runs at least this often.
   * @default 7
   */
  readonly aheadDays?: number;
  /**
   * Retention of tenants without a `tenant_settings.retention_days`, in days.
   * @default 90
   */
  readonly defaultRetentionDays?: number;
  /**
   * Longest wait for a table lock (creating, dropping a partition) before the step fails and
   * the next run retries it, in milliseconds. A `DROP TABLE` waiting for its lock on `events`
   * (behind a long query) holds up the inserts queued after it, so keep this short.
   * @default 2_000
   */
  readonly lockTimeoutMs?: number;
}

/** What one {@link enforceRetention} run did. */
export interface RetentionReport {
  /** When it ran, RFC 3339. */
  readonly ranAt: string;
  /** The longest retention of any tenant, in days: the horizon of partition drops. */
  readonly longestRetentionDays: number;
  /** Day partitions created (ahead of today). */
  readonly createdPartitions: readonly string[];
  /** Rows moved from DEFAULT into the partitions created. */
  readonly movedFromDefault: number;
  /** Day partitions dropped whole: their day ended before the longest horizon. */
  readonly droppedPartitions: readonly string[];
  /** Rows deleted per tenant whose retention is shorter than the longest. */
  readonly deletedRowsByTenant: Readonly<Record<string, number>>;
  /** Rows deleted from the DEFAULT partition past the longest horizon. */
  readonly deletedFromDefault: number;
  /**
   * `analytics_applied` rows deleted: batches received more than 7 days before the longest
   * horizon, whose events are gone with their partitions.
   */
  readonly deletedAppliedBatches: number;
  /** Day partitions attached after the run. */
  readonly partitions: number;
}

/** Advisory lock key serializing retention runs across instances ("FLRT" in ASCII). */
export const RETENTION_LOCK_KEY = 0x464c5254;

function checkDays(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > 36_500) {
    throw new InvalidArgumentError(`${name} must be a whole number of days from ${min} to 36500.`, {
      [name]: value,
    });
  }
}

// Each step is its own short transaction: DDL takes locks on `events` that would otherwise be
// held, blocking ingestion, until the whole run ended. The advisory lock makes runs of several
// instances take turns, and every step re-reads what it changes, so a step repeated is a no-op.
async function step<T>(
  db: Kysely<FieldlineDatabase>,
  lockTimeoutMs: number,
  work: (trx: Transaction<FieldlineDatabase>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(RETENTION_LOCK_KEY)})`.execute(trx);
    await sql`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`.execute(trx);
    return work(trx);
  });
}

/**
 * Enforces raw-event retention once (docs/architecture.md, "Retention"):
 *
 * 1. creates the day partitions of `events` from today to `aheadDays` ahead, moving the rows
 *    DEFAULT holds for those days into them;
 * 2. drops the day partitions whose whole day is older than the longest retention of any
 *    tenant (`DROP TABLE`: no row is deleted one by one);
 * 3. for each tenant keeping less than that, deletes its rows older than its own horizon, by
 *    `(tenant_id, id)` index in the partitions below the horizon only. This is the only row
 *    delete over the big table, and it is bounded: each run finds at most the rows that crossed
 *    the tenant's horizon since the previous run (about an hour of that tenant's events);
 * 4. deletes the DEFAULT partition's rows past their tenant's horizon, by id time or, for ids
 *    from a clock far ahead, by `received_at` (DEFAULT stays small).
 *
 * Aggregates are never touched. Dropping or deleting anything is recorded in the audit log
 * (`retention.partitions_dropped`, `retention.rows_deleted`) in the same transaction. A
 * second run at the same time changes nothing.
 *
 * @param db - the Fieldline database (migration 0009 applied).
 * @param options - clock, days ahead, default retention, lock timeout.
 * @returns what the run did.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a bad option;
 *   the database error of a failed step (earlier steps stay committed; the next run resumes).
 * @example
 * ```ts
 * const report = await enforceRetention(db, { clock });
 * console.log(report.droppedPartitions);
 * ```
 */
export async function enforceRetention(
  db: Kysely<FieldlineDatabase>,
  options: EnforceRetentionOptions = {},
): Promise<RetentionReport> {
  const clock = options.clock ?? systemClock;
  const aheadDays = options.aheadDays ?? 7;
  const defaultDays = options.defaultRetentionDays ?? 90;
  const lockTimeoutMs = options.lockTimeoutMs ?? 2_000;
  checkDays('aheadDays', aheadDays, 0);
  checkDays('defaultRetentionDays', defaultDays, 1);
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs <= 0) {
    throw new InvalidArgumentError('lockTimeoutMs must be a positive integer.', { lockTimeoutMs });
  }
  const nowMs = clock.now();
  const today = utcDayStart(nowMs);

  // 1. Partitions ahead, one transaction each.
  const createdPartitions: string[] = [];
  let movedFromDefault = 0;
  const existing = new Set((await listEventPartitions(db)).map((partition) => partition.name));
  for (let day = today; day <= today + aheadDays * DAY_MS; day += DAY_MS) {
    if (existing.has(eventPartitionName(day))) continue;
    const moved = await step(db, lockTimeoutMs, (trx) => createEventPartition(trx, day));
    if (moved === undefined) continue;
    createdPartitions.push(eventPartitionName(day));
    movedFromDefault += moved;
  }

  // 2. Whole partitions past the longest horizon.
  const plan = await planRetention(db, defaultDays);
  const horizonMs = nowMs - plan.longestDays * DAY_MS;
  const droppedPartitions = await step(db, lockTimeoutMs, async (trx) => {
    const dropped: string[] = [];
    for (const partition of await listEventPartitions(trx)) {
      if (partition.dayStartMs + DAY_MS > horizonMs) continue;
      await sql`drop table ${sql.table(partition.name)}`.execute(trx);
      dropped.push(partition.name);
    }
    if (dropped.length > 0) {
      await appendAudit(
        trx,
        {
          tenantId: null,
          actor: 'system',
          action: 'retention.partitions_dropped',
          subject: 'events',
          details: { partitions: dropped, retentionDays: plan.longestDays },
        },
        { clock },
      );
    }
    return dropped;
  });

  // 3 and 4. Rows: shorter-retention tenants, then DEFAULT.
  const { deletedRowsByTenant, deletedFromDefault, deletedAppliedBatches } = await step(
    db,
    lockTimeoutMs,
    async (trx) => {
      const byTenant: Record<string, number> = {};
      for (const tenant of plan.shorter) {
        const tenantHorizonMs = nowMs - tenant.retentionDays * DAY_MS;
        // `id < bound` lets PostgreSQL prune to the partitions below the horizon (and DEFAULT);
        // in each, the (tenant_id, id) index finds the tenant's rows.
        const byId = await sql`
        delete from events
        where tenant_id = ${tenant.tenantId} and id < ${eventIdLowerBound(tenantHorizonMs)}::uuid`.execute(
          trx,
        );
        const byReceipt = await sql`
        delete from ${sql.table(DEFAULT_EVENT_PARTITION)}
        where tenant_id = ${tenant.tenantId} and received_at < ${new Date(tenantHorizonMs).toISOString()}::timestamptz`.execute(
          trx,
        );
        const count = Number(byId.numAffectedRows ?? 0n) + Number(byReceipt.numAffectedRows ?? 0n);
        if (count > 0) byTenant[tenant.tenantId] = count;
      }
      const fromDefault = await sql`
      delete from ${sql.table(DEFAULT_EVENT_PARTITION)}
      where id < ${eventIdLowerBound(horizonMs)}::uuid
        or received_at < ${new Date(horizonMs).toISOString()}::timestamptz`.execute(trx);
      const defaultCount = Number(fromDefault.numAffectedRows ?? 0n);
      // The analytics consumer's record of added batches (migration 0013) outlives their events
      // by a week, for events whose ids run ahead of their receipt (a device clock ahead).
      const applied = await sql`
      delete from analytics_applied
      where received_at < ${new Date(horizonMs - 7 * DAY_MS).toISOString()}::timestamptz`.execute(
        trx,
      );
      const appliedCount = Number(applied.numAffectedRows ?? 0n);
      if (defaultCount > 0 || Object.keys(byTenant).length > 0) {
        await appendAudit(
          trx,
          {
            tenantId: null,
            actor: 'system',
            action: 'retention.rows_deleted',
            subject: 'events',
            details: {
              byTenant,
              fromDefault: defaultCount,
              retentionDays: plan.longestDays,
            },
          },
          { clock },
        );
      }
      return {
        deletedRowsByTenant: byTenant,
        deletedFromDefault: defaultCount,
        deletedAppliedBatches: appliedCount,
      };
    },
  );

  const partitions = (await listEventPartitions(db)).length;
  return {
    ranAt: new Date(nowMs).toISOString(),
    longestRetentionDays: plan.longestDays,
    createdPartitions,
    movedFromDefault,
    droppedPartitions,
    deletedRowsByTenant,
    deletedFromDefault,
    deletedAppliedBatches,
    partitions,
  };
}
