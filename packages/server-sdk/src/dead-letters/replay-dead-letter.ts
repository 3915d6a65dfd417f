import { type Clock, type ReplayDeadLetterResponse, SealKind, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { appendAudit } from '../audit/append-audit.js';
import { type AdminPrincipal, assertTenantAccess } from '../auth/admin-auth.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError, isHttpError } from '../http/http-error.js';
import {
  createIngestionContext,
  type IngestionContext,
  type IngestionEntry,
} from '../ingestion/ingestion-context.js';
import { createIngestionPipeline, type IngestionPipeline } from '../ingestion/pipeline.js';
import { type DeadLetterRow, selectDeadLetters, toDeadLetter } from './dead-letter-record.js';

/** Options of {@link replayDeadLetter}. */
export interface ReplayDeadLetterOptions {
  /** Who asks: their tenant bounds what they may replay, their actor is audited. */
  readonly admin: AdminPrincipal;
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * A replay still marked `replaying` after this long is taken to have died with its server and
   * may be started again, in milliseconds.
   * @default 60_000
   */
  readonly staleAfterMs?: number;
  /**
   * The `retry-after` of a 503 answered when storage fails again, in seconds.
   * @default 5
   */
  readonly retryAfterSeconds?: number;
}

// The stored payload is read back from the database: untrusted until parsed.
const storedEventsSchema = z.object({
  batchId: z.string(),
  messageId: z.string(),
  receivedAt: z.iso.datetime(),
  drops: z.record(z.string(), z.number().int().nonnegative()).optional(),
  events: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      scope: z.string(),
      seq: z.number().int(),
      occurredAt: z.string(),
      data: z.record(z.string(), z.unknown()),
    }),
  ),
});

function stepsAfterDeadLetter(pipeline: IngestionPipeline): IngestionPipeline {
  const steps = pipeline.steps;
  const guard = steps.findIndex((step) => step.name === 'dead-letter');
  const start = guard >= 0 ? guard + 1 : steps.findIndex((step) => step.name === 'store-events');
  if (start < 0) {
    throw new HttpError(
      'conflict',
      'This server’s ingestion pipeline has no "dead-letter" or "store-events" step to resume at.',
    );
  }
  return createIngestionPipeline(steps.slice(start));
}

function replayContext(
  row: DeadLetterRow,
  device: { id: string; tenantId: string; signingPublicKey: string },
  payload: z.infer<typeof storedEventsSchema>,
): IngestionContext {
  const receivedAt = new Date(payload.receivedAt);
  const ctx = createIngestionContext({ device, rawBody: new Uint8Array(), receivedAt });
  ctx.message = {
    kind: SealKind.EventBatch,
    senderId: device.id,
    messageId: payload.messageId,
    timestampMs: receivedAt.getTime(),
    payload: null,
  };
  ctx.batch = {
    batchId: payload.batchId,
    sentAt: payload.receivedAt,
    events: payload.events,
    ...(payload.drops === undefined ? {} : { drops: payload.drops }),
  };
  ctx.entries = payload.events.map(
    (event, index): IngestionEntry => ({
      index,
      id: event.id,
      input: event,
      status: 'pending',
      enriched: {
        ...event,
        id: event.id.toLowerCase(),
        tenantId: row.tenant_id,
        deviceId: device.id,
        receivedAt,
        data: { ...event.data },
      },
    }),
  );
  return ctx;
}

async function readRow(
  db: Kysely<FieldlineDatabase>,
  seq: number,
  admin: AdminPrincipal,
): Promise<DeadLetterRow> {
  const row = await selectDeadLetters(db).where('seq', '=', seq).executeTakeFirst();
  if (row === undefined) throw new HttpError('not_found', 'No such dead letter.');
  assertTenantAccess(admin, row.tenant_id, 'dead letter');
  return row;
}

/**
 * Replays one dead letter: resumes the ingestion pipeline where the batch failed, running the
 * steps after `dead-letter` (`store-events`, `build-results`, and any an integrator put there)
 * on the stored events. They were validated, consent-checked and enriched before they were kept,
 * so those steps are not run again (enrichment would apply twice). Idempotent: the event id is
 * the key, so events the device resent meanwhile, or an earlier replay stored, count as
 * duplicates; a dead letter already `replayed` is answered as it stands without running again;
 * a replay running elsewhere is 409. The outcome is recorded on the dead letter and audited
 * (`dead_letter.replayed` or `dead_letter.replay_failed`) in the same transaction.
 *
 * @param db - the database.
 * @param pipeline - the server's ingestion pipeline.
 * @param seq - the dead letter's id.
 * @param options - who asks, clock, timings.
 * @returns the dead letter after the replay, and whether it had been replayed before.
 * @throws {@link HttpError} `not_found` (unknown, or another tenant's), `conflict` (a replay is
 *   running, the kind cannot be replayed, the payload is unreadable, the device is gone), or
 *   `unavailable` (503 with `retry-after`) when storing fails again.
 * @example
 * ```ts
 * const { deadLetter } = await replayDeadLetter(db, app.ingestion, 42, { admin });
 * ```
 */
export async function replayDeadLetter(
  db: Kysely<FieldlineDatabase>,
  pipeline: IngestionPipeline,
  seq: number,
  options: ReplayDeadLetterOptions,
): Promise<ReplayDeadLetterResponse> {
  const { admin } = options;
  const clock = options.clock ?? systemClock;
  const staleAfterMs = options.staleAfterMs ?? 60_000;
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  const before = await readRow(db, seq, admin);
  if (before.replay_status === 'replayed') {
    return { deadLetter: toDeadLetter(before), alreadyReplayed: true };
  }
  if (before.kind !== 'events') {
    throw new HttpError('conflict', `A dead letter of kind "${before.kind}" cannot be replayed.`);
  }
  const startedAt = new Date(clock.now());
  // The claim is one conditional update: two replays of one dead letter never run together.
  const claimed = await db
    .updateTable('dead_letters')
    .set((eb) => ({
      replay_status: 'replaying',
      replay_started_at: startedAt,
      replay_attempts: eb('replay_attempts', '+', 1),
    }))
    .where('seq', '=', seq)
    .where((eb) =>
      eb.or([
        eb('replay_status', 'is', null),
        eb('replay_status', '=', 'failed'),
        eb.and([
          eb('replay_status', '=', 'replaying'),
          eb('replay_started_at', '<', new Date(startedAt.getTime() - staleAfterMs)),
        ]),
      ]),
    )
    .returning('seq')
    .executeTakeFirst();
  if (claimed === undefined) {
    const now = await readRow(db, seq, admin);
    if (now.replay_status === 'replayed') {
      return { deadLetter: toDeadLetter(now), alreadyReplayed: true };
    }
    throw new HttpError('conflict', 'A replay of this dead letter is running; try again later.', {
      details: { id: String(seq) },
    });
  }

  async function finish(
    status: 'replayed' | 'failed',
    result: Record<string, unknown>,
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('dead_letters')
        .set({
          replay_status: status,
          replayed_at: new Date(clock.now()),
          replay_result: JSON.stringify(result),
        })
        .where('seq', '=', seq)
        .execute();
      await appendAudit(
        trx,
        {
          tenantId: before.tenant_id,
          actor: admin.actor,
          action: status === 'replayed' ? 'dead_letter.replayed' : 'dead_letter.replay_failed',
          subject: `dead_letter:${seq}`,
          details: { deviceId: before.device_id, batchId: before.batch_id, ...result },
        },
        { clock },
      );
    });
  }

  const parsed = storedEventsSchema.safeParse(
    (
      await db
        .selectFrom('dead_letters')
        .select('payload')
        .where('seq', '=', seq)
        .executeTakeFirstOrThrow()
    ).payload,
  );
  const device =
    before.device_id === null
      ? undefined
      : await db
          .selectFrom('devices')
          .select(['id', 'tenant_id as tenantId', 'signing_public_key as signingPublicKey'])
          .where('id', '=', before.device_id)
          .where('tenant_id', '=', before.tenant_id)
          .executeTakeFirst();
  if (!parsed.success || device === undefined) {
    const error = parsed.success
      ? 'The dead letter’s device no longer exists.'
      : 'The stored payload is not a readable events batch.';
    await finish('failed', { error });
    throw new HttpError('conflict', `This dead letter cannot be replayed: ${error}`);
  }

  const ctx = replayContext(before, device, parsed.data);
  try {
    await stepsAfterDeadLetter(pipeline).run(ctx);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    await finish('failed', { error: message || 'store failed' }).catch(() => undefined);
    if (isHttpError(error)) throw error;
    throw new HttpError(
      'unavailable',
      `Storage failed again; the dead letter was kept. Retry in ${retryAfterSeconds} s.`,
      { headers: { 'retry-after': String(retryAfterSeconds) }, cause: error },
    );
  }
  const response = ctx.response;
  try {
    await finish('replayed', {
      accepted: response?.accepted ?? ctx.storedCount,
      duplicates: response?.duplicates ?? 0,
      rejected: response?.rejected ?? 0,
    });
  } catch (error) {
    // The events are stored; a retry finds them as duplicates and records the outcome.
    throw new HttpError(
      'unavailable',
      `The replay's outcome could not be recorded. Retry in ${retryAfterSeconds} s.`,
      { headers: { 'retry-after': String(retryAfterSeconds) }, cause: error },
    );
  }
  return { deadLetter: toDeadLetter(await readRow(db, seq, admin)), alreadyReplayed: false };
}
