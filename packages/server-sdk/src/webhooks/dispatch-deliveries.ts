import { InvalidArgumentError } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { attemptDelivery, type WebhookAttemptOutcome } from './attempt-delivery.js';
import type { ResolvedWebhookDeliveryOptions } from './webhook-delivery-policy.js';

/** Options of {@link createWebhookDispatcher}. @internal */
export interface WebhookDispatcherOptions {
  readonly db: Kysely<FieldlineDatabase>;
  readonly delivery: ResolvedWebhookDeliveryOptions;
  /** Most attempts in flight at once. */
  readonly concurrency: number;
  /** Pause between polls when nothing was due, in ms. */
  readonly pollIntervalMs: number;
  /** Told of an attempt's outcome. */
  readonly onAttempt?: (outcome: WebhookAttemptOutcome) => void;
  /** Told of a database error (the dispatcher keeps running). */
  readonly onError?: (error: unknown) => void;
}

/** A running dispatcher. @internal */
export interface WebhookDispatcher {
  /** Claims and sends what is due now; resolves when those attempts are recorded. */
  runOnce(): Promise<number>;
  /** Stops polling; resolves when attempts in flight are recorded. */
  stop(): Promise<void>;
}

/**
 * Claims up to `limit` due deliveries of enabled endpoints, `for update skip locked`, and
 * leases them (moves `next_attempt_at` past the attempt's timeout), so another dispatcher
 * process never sends the same delivery at the same time; a process that dies mid-attempt
 * leaves the delivery due again when the lease ends.
 */
async function claimDue(
  db: Kysely<FieldlineDatabase>,
  limit: number,
  nowMs: number,
  leaseMs: number,
): Promise<string[]> {
  const now = new Date(nowMs).toISOString();
  const { rows } = await sql<{ id: string }>`
    update webhook_deliveries set next_attempt_at = ${new Date(nowMs + leaseMs).toISOString()}::timestamptz
    where id in (
      select d.id from webhook_deliveries d
      join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
      where d.status in ('pending', 'failed')
        and (d.next_attempt_at is null or d.next_attempt_at <= ${now}::timestamptz)
      order by d.next_attempt_at nulls first, d.created_at
      limit ${limit}
      for update of d skip locked)
    returning id`.execute(db);
  return rows.map((row) => row.id);
}

/**
 * Creates the dispatcher and starts polling: each poll claims due deliveries up to the free
 * concurrency and attempts them (see `attemptDelivery`).
 *
 * @param options - database, delivery options, concurrency and polling.
 * @returns the dispatcher.
 * @internal
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { db, delivery } = options;
  for (const name of ['concurrency', 'pollIntervalMs'] as const) {
    if (!Number.isSafeInteger(options[name]) || options[name] <= 0) {
      throw new InvalidArgumentError(`${name} must be a positive integer.`, {
        [name]: options[name],
      });
    }
  }
  const leaseMs = delivery.timeoutMs + 60_000;
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const report = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // A failing listener must not stop the dispatcher.
    }
  };

  async function runOnce(): Promise<number> {
    const free = options.concurrency - inFlight.size;
    if (free <= 0) return 0;
    const ids = await claimDue(db, free, delivery.clock.now(), leaseMs);
    const attempts = ids.map((id) => {
      const attempt = attemptDelivery(db, id, delivery)
        .then((outcome) => {
          if (outcome !== undefined) options.onAttempt?.(outcome);
        })
        .catch(report)
        .finally(() => inFlight.delete(attempt));
      inFlight.add(attempt);
      return attempt;
    });
    await Promise.all(attempts);
    return ids.length;
  }

  let running: Promise<void> | undefined;
  const tick = (): void => {
    timer = undefined;
    running = runOnce()
      .catch((error: unknown) => {
        report(error);
        return 0;
      })
      .then((count) => {
        running = undefined;
        // A full poll may have left more due: look again at once.
        if (!stopping) timer = setTimeout(tick, count === 0 ? options.pollIntervalMs : 0);
      });
  };
  timer = setTimeout(tick, 0);

  return {
    runOnce,
    async stop() {
      stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
      await Promise.all([...inFlight]);
    },
  };
}
