import { InvalidArgumentError } from '@fieldline/core';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { FieldlineDatabase } from '../../db/database-schema.js';
import { type EnrichedEvent, type IngestionEntry, requireBatch } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';

/** Options of {@link createStoreEventsStep}. */
export interface StoreEventsStepOptions {
  /** The Fieldline database. */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * Outbox topic of the one message written per batch that stored something.
   * @default 'events.ingested'
   */
  readonly topic?: string;
  /**
   * The outbox message lists the stored ids only when there are at most this many (else
   * consumers read them by device and `receivedAt`), to keep outbox rows small.
   * @default 100
   */
  readonly maxOutboxIds?: number;
  /**
   * Most rows per insert statement.
   * @default 1000
   */
  readonly chunkSize?: number;
}

/** The payload of the outbox message written for a batch (topic `events.ingested`). */
export interface EventsIngestedMessage {
  /** The sending device. */
  readonly deviceId: string;
  /** Its tenant. */
  readonly tenantId: string;
  /** The batch's id. */
  readonly batchId: string;
  /** The sealed message's id. */
  readonly messageId: string;
  /** The `received_at` of every stored row of the batch, ISO 8601. */
  readonly receivedAt: string;
  /** Events newly stored. */
  readonly count: number;
  /** Their ids, when `count ≤ maxOutboxIds`. */
  readonly ids?: readonly string[];
}

function toRecord(event: EnrichedEvent) {
  return {
    id: event.id,
    tenant_id: event.tenantId,
    device_id: event.deviceId,
    type: event.type,
    scope: event.scope,
    seq: event.seq,
    occurred_at: event.occurredAt,
    received_at: event.receivedAt.toISOString(),
    data: event.data,
  };
}

// One parameter per chunk, whatever its size: the rows travel as one jsonb array and are
// expanded server-side, which avoids Kysely compiling and PostgreSQL parsing thousands of
// placeholders per batch, and never nears the 65,535-parameter limit.
async function insertChunk(
  trx: Transaction<FieldlineDatabase>,
  chunk: readonly EnrichedEvent[],
): Promise<string[]> {
  const rows = JSON.stringify(chunk.map(toRecord));
  const result = await sql<{ id: string }>`
    insert into events (id, tenant_id, device_id, type, scope, seq, occurred_at, received_at, data)
    select id, tenant_id, device_id, type, scope, seq, occurred_at, received_at, data
    from jsonb_to_recordset(${rows}::jsonb) as r(
      id uuid, tenant_id text, device_id text, type text, scope text, seq bigint,
      occurred_at timestamptz, received_at timestamptz, data jsonb)
    on conflict (id) do nothing
    returning id::text as id`.execute(trx);
  return result.rows.map((row) => row.id);
}

async function mergeDrops(
  trx: Transaction<FieldlineDatabase>,
  deviceId: string,
  drops: Readonly<Record<string, number>>,
): Promise<void> {
  await sql`
    update devices set drops = (
      select coalesce(jsonb_object_agg(key, total), '{}'::jsonb) from (
        select key, sum(value::bigint) as total from (
          select key, value from jsonb_each_text(devices.drops)
          union all
          select key, value from jsonb_each_text(${JSON.stringify(drops)}::jsonb)
        ) as parts group by key
      ) as sums
    )
    where id = ${deviceId}`.execute(trx);
}

/** Key in `ctx.locals` of the drop counts this batch added to the device (for metrics). */
export const COUNTED_DROPS = 'store-events.countedDrops';

/**
 * Stores the batch in one transaction: the pending enriched events with multi-row
 * `insert … on conflict (id) do nothing returning id` (an id not returned was already stored,
 * so that event is `duplicate`; the others are `accepted`), one outbox message
 * ({@link EventsIngestedMessage}) if anything was newly stored, and the batch's `drops` added
 * per reason into `devices.drops`. Drops are skipped for a batch that stored nothing and had
 * duplicates (a resend of a stored batch), so they are not counted twice. Statuses change only
 * after the commit; on failure the events stay pending for the dead-letter step.
 *
 * @param options - database, topic and sizes.
 * @returns the step, named `store-events`.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when a size is not a
 *   positive integer.
 * @example
 * ```ts
 * createStoreEventsStep({ db, topic: 'telemetry.ingested' });
 * ```
 */
export function createStoreEventsStep(options: StoreEventsStepOptions): IngestionStep {
  const { db } = options;
  const topic = options.topic ?? 'events.ingested';
  const maxOutboxIds = options.maxOutboxIds ?? 100;
  const chunkSize = options.chunkSize ?? 1000;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new InvalidArgumentError('chunkSize must be a positive integer.', { chunkSize });
  }
  if (!Number.isSafeInteger(maxOutboxIds) || maxOutboxIds < 0) {
    throw new InvalidArgumentError('maxOutboxIds must be a non-negative integer.', {
      maxOutboxIds,
    });
  }
  return {
    name: 'store-events',
    async run(ctx, next) {
      const { batch, message } = requireBatch(ctx, 'store-events');
      const toStore = ctx.entries.filter(
        (entry): entry is IngestionEntry & { enriched: EnrichedEvent } =>
          entry.status === 'pending' && entry.enriched !== undefined,
      );
      const hasDrops = batch.drops !== undefined && Object.keys(batch.drops).length > 0;
      const storedIds = new Set<string>();
      let countedDrops: Readonly<Record<string, number>> | undefined;
      if (toStore.length > 0 || hasDrops) {
        await db.transaction().execute(async (trx) => {
          for (let start = 0; start < toStore.length; start += chunkSize) {
            const chunk = toStore.slice(start, start + chunkSize).map((entry) => entry.enriched);
            for (const id of await insertChunk(trx, chunk)) storedIds.add(id);
          }
          if (storedIds.size > 0) {
            const payload: EventsIngestedMessage = {
              deviceId: ctx.device.id,
              tenantId: ctx.device.tenantId,
              batchId: batch.batchId,
              messageId: message.messageId,
              receivedAt: ctx.receivedAt.toISOString(),
              count: storedIds.size,
              ...(storedIds.size <= maxOutboxIds ? { ids: [...storedIds] } : {}),
            };
            await trx
              .insertInto('outbox')
              .values({ tenant_id: ctx.device.tenantId, topic, payload: JSON.stringify(payload) })
              .execute();
          }
          const looksResent =
            storedIds.size === 0 &&
            (toStore.length > 0 || ctx.entries.some((entry) => entry.status === 'duplicate'));
          if (hasDrops && !looksResent && batch.drops !== undefined) {
            await mergeDrops(trx, ctx.device.id, batch.drops);
            countedDrops = batch.drops;
          }
        });
      }
      for (const entry of toStore) {
        entry.status = storedIds.has(entry.enriched.id) ? 'accepted' : 'duplicate';
      }
      ctx.committed = true;
      ctx.storedCount = storedIds.size;
      if (countedDrops !== undefined) ctx.locals.set(COUNTED_DROPS, countedDrops);
      await next();
    },
  };
}
