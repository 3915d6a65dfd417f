import { InvalidArgumentError } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../../db/database-schema.js';
import { HttpError, isHttpError } from '../../http/http-error.js';
import type { IngestionStep } from '../pipeline.js';

/** Options of {@link createDeadLetterStep}. */
export interface DeadLetterStepOptions {
  /** The Fieldline database. */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * The `retry-after` sent with 503 `unavailable`, in seconds.
   * @default 5
   */
  readonly retryAfterSeconds?: number;
}

/** The payload of a `dead_letters` row of kind `events`. */
export interface EventsDeadLetter {
  /** The batch's id. */
  readonly batchId: string;
  /** The sealed message's id. */
  readonly messageId: string;
  /** When it was received, ISO 8601. */
  readonly receivedAt: string;
  /** The batch's drop counts, if any. */
  readonly drops?: Readonly<Record<string, number>>;
  /** The accepted (validated, consented, enriched) events that could not be stored. */
  readonly events: ReadonlyArray<{
    readonly id: string;
    readonly type: string;
    readonly scope: string;
    readonly seq: number;
    readonly occurredAt: string;
    readonly data: Readonly<Record<string, unknown>>;
  }>;
}

/**
 * Guards the steps after it (place it right before `store-events`): when they fail with
 * anything but an `HttpError` before the store committed, the accepted events are written to
 * `dead_letters` (kind `events`, the error message as reason) in a statement of their own, and
 * the request is answered 503 `unavailable` with `retry-after`, so nothing accepted is lost and
 * the device retries. Replaying dead letters is idempotent: the event id is the key. If the
 * dead letter cannot be written either, the original error is rethrown.
 *
 * @param options - database and retry delay.
 * @returns the step, named `dead-letter`.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when
 *   `retryAfterSeconds` is not a positive integer.
 * @example
 * ```ts
 * insertStepBefore(steps, 'store-events', createDeadLetterStep({ db }));
 * ```
 */
export function createDeadLetterStep(options: DeadLetterStepOptions): IngestionStep {
  const { db } = options;
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds <= 0) {
    throw new InvalidArgumentError('retryAfterSeconds must be a positive integer.', {
      retryAfterSeconds,
    });
  }
  return {
    name: 'dead-letter',
    async run(ctx, next) {
      try {
        await next();
      } catch (error) {
        if (isHttpError(error) || ctx.committed || ctx.batch === undefined) throw error;
        const events = ctx.entries.flatMap((entry) =>
          entry.status === 'pending' && entry.enriched !== undefined ? [entry.enriched] : [],
        );
        const drops = ctx.batch.drops;
        if (events.length === 0 && (drops === undefined || Object.keys(drops).length === 0)) {
          throw error;
        }
        const payload: EventsDeadLetter = {
          batchId: ctx.batch.batchId,
          messageId: ctx.message?.messageId ?? '',
          receivedAt: ctx.receivedAt.toISOString(),
          ...(drops === undefined ? {} : { drops }),
          events: events.map((event) => ({
            id: event.id,
            type: event.type,
            scope: event.scope,
            seq: event.seq,
            occurredAt: event.occurredAt,
            data: event.data,
          })),
        };
        const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
        try {
          await db
            .insertInto('dead_letters')
            .values({
              tenant_id: ctx.device.tenantId,
              device_id: ctx.device.id,
              kind: 'events',
              payload: JSON.stringify(payload),
              reason: reason === '' ? 'store failed' : reason,
            })
            .execute();
        } catch {
          throw error;
        }
        throw new HttpError(
          'unavailable',
          `Storage is unavailable; the batch was kept. Retry in ${retryAfterSeconds} s.`,
          {
            details: { batchId: ctx.batch.batchId },
            headers: { 'retry-after': String(retryAfterSeconds) },
            cause: error,
          },
        );
      }
    },
  };
}
