import type { DeadLetter } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * The columns of a dead letter that its protocol shape needs: everything but the payload,
 * of which only the batch id and the event count are read (a payload can be large).
 *
 * @param db - the database or a transaction.
 * @returns a select on `dead_letters` with those columns.
 * @internal
 */
export function selectDeadLetters(db: Kysely<FieldlineDatabase>) {
  return db.selectFrom('dead_letters').select([
    'seq',
    'tenant_id',
    'device_id',
    'kind',
    'reason',
    'created_at',
    'replay_status',
    'replay_started_at',
    'replayed_at',
    'replay_attempts',
    'replay_result',
    sql<string | null>`payload->>'batchId'`.as('batch_id'),
    sql<number>`case when jsonb_typeof(payload->'events') = 'array'
        then jsonb_array_length(payload->'events') else 0 end`.as('event_count'),
  ]);
}

/** A row as {@link selectDeadLetters} reads it. @internal */
export type DeadLetterRow = Awaited<
  ReturnType<ReturnType<typeof selectDeadLetters>['executeTakeFirstOrThrow']>
>;

function count(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/**
 * Maps a dead letter row to its protocol shape (`DeadLetter`).
 *
 * @param row - a row read with {@link selectDeadLetters}.
 * @returns the dead letter.
 * @internal
 */
export function toDeadLetter(row: DeadLetterRow): DeadLetter {
  const result = (row.replay_result ?? null) as Record<string, unknown> | null;
  const error = result !== null && typeof result.error === 'string' ? result.error : null;
  return {
    id: String(row.seq),
    tenant: row.tenant_id,
    deviceId: row.device_id,
    kind: row.kind,
    reason: row.reason,
    createdAt: row.created_at.toISOString(),
    batchId: row.batch_id,
    eventCount: Number(row.event_count),
    replay:
      row.replay_status === null
        ? null
        : {
            status: row.replay_status,
            attempts: row.replay_attempts,
            startedAt: row.replay_started_at?.toISOString() ?? null,
            finishedAt: row.replayed_at?.toISOString() ?? null,
            result:
              result === null || error !== null
                ? null
                : {
                    accepted: count(result.accepted),
                    duplicates: count(result.duplicates),
                    rejected: count(result.rejected),
                  },
            error,
          },
  };
}
