import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase, WebhookAttemptLogEntry } from '../db/database-schema.js';
import { disableWebhookEndpoint } from './disable-endpoint.js';
import { postWebhook, type WebhookPostResult } from './post-webhook.js';
import { retryDelayMs } from './retry-schedule.js';
import type { ResolvedWebhookDeliveryOptions } from './webhook-delivery-policy.js';
import { signWebhook } from './webhook-signature.js';

// The attempt log keeps the latest attempts only: the schedule's 8 plus a few redeliveries.
const MAX_LOGGED_ATTEMPTS = 20;
const MAX_ERROR_LENGTH = 500;

// The current secret, and the previous one while a rotation's overlap lasts; undefined when
// they do not open under the webhook key.
function openSecrets(
  row: {
    readonly endpointId: string;
    readonly secret_ciphertext: string;
    readonly previous_secret_ciphertext: string | null;
    readonly previous_secret_expires_at: Date | null;
  },
  atMs: number,
  options: ResolvedWebhookDeliveryOptions,
): string[] | undefined {
  try {
    const secrets = [options.secretBox.open(row.endpointId, row.secret_ciphertext)];
    if (
      row.previous_secret_ciphertext !== null &&
      row.previous_secret_expires_at !== null &&
      row.previous_secret_expires_at.getTime() > atMs
    ) {
      secrets.push(options.secretBox.open(row.endpointId, row.previous_secret_ciphertext));
    }
    return secrets;
  } catch {
    return undefined;
  }
}

/** What one attempt did to a delivery. */
export interface WebhookAttemptOutcome {
  readonly deliveryId: string;
  readonly status: 'succeeded' | 'failed' | 'dead';
  readonly statusCode: number | null;
  readonly error: string | null;
  /** Whether this attempt disabled the endpoint. */
  readonly endpointDisabled: boolean;
}

/**
 * Makes one attempt of a delivery now: signs its body with the endpoint's secret, and with the
 * previous one while a rotation's overlap lasts (Standard Webhooks headers, timestamp of this
 * attempt), POSTs it, and records the outcome on the
 * delivery (status, attempt count, last code/error/latency, the attempt log, the next attempt)
 * and on the endpoint (its run of failures). A 2xx succeeds and resets the endpoint's failures;
 * a 410 kills the delivery and disables the endpoint (`gone`); any other failure schedules a
 * retry, or kills the delivery after the schedule's last attempt, and disables the endpoint
 * once it has failed `disableAfterFailures` times in a row or for `disableAfterMs`.
 *
 * @param db - the database.
 * @param deliveryId - the delivery.
 * @param options - the resolved delivery options.
 * @param mode - `retry: false` for a test delivery: one attempt, never retried, and not counted
 *   against the endpoint.
 * @returns the outcome, or undefined when the delivery does not exist.
 * @internal
 */
export async function attemptDelivery(
  db: Kysely<FieldlineDatabase>,
  deliveryId: string,
  options: ResolvedWebhookDeliveryOptions,
  mode: { readonly retry: boolean } = { retry: true },
): Promise<WebhookAttemptOutcome | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select([
      'd.id',
      'd.body',
      'd.attempts',
      'e.id as endpointId',
      'e.url',
      'e.secret_ciphertext',
      'e.previous_secret_ciphertext',
      'e.previous_secret_expires_at',
      'e.consecutive_failures',
      'e.failing_since',
    ])
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const { clock } = options;
  const startedMs = clock.now();
  const secrets = openSecrets(row, startedMs, options);
  const body = JSON.stringify(row.body);
  // A secret that does not open (the webhook key was changed) is a failed attempt like any
  // other: the delivery follows the schedule and the endpoint is disabled in the end, instead
  // of the dispatcher retrying it forever.
  const result: WebhookPostResult =
    secrets === undefined
      ? { statusCode: null, error: 'secret_unreadable', latencyMs: 0 }
      : await postWebhook(
          row.url,
          { ...signWebhook(secrets, row.id, Math.floor(startedMs / 1000), body) },
          body,
          { timeoutMs: options.timeoutMs, allowPrivate: options.allowPrivateUrls },
        );
  const attempt = row.attempts + 1;
  const nowMs = clock.now();
  const now = new Date(nowMs);
  const succeeded = result.error === null;
  const gone = result.statusCode === 410;
  const status = succeeded
    ? 'succeeded'
    : gone || !mode.retry || attempt >= options.retry.maxAttempts
      ? 'dead'
      : 'failed';
  const nextAttemptAt =
    status === 'failed'
      ? new Date(nowMs + retryDelayMs(attempt, options.retry, options.random))
      : null;
  const error = result.error?.slice(0, MAX_ERROR_LENGTH) ?? null;
  const entry: WebhookAttemptLogEntry = {
    attempt,
    at: new Date(startedMs).toISOString(),
    statusCode: result.statusCode,
    error,
    latencyMs: result.latencyMs,
  };
  await sql`update webhook_deliveries set
      status = ${status}, attempts = ${attempt}, next_attempt_at = ${nextAttemptAt},
      last_status_code = ${result.statusCode}, last_error = ${error},
      last_latency_ms = ${result.latencyMs}, updated_at = ${now},
      attempt_log = (
        select coalesce(jsonb_agg(item order by ord), '[]'::jsonb) from (
          select item, ord from jsonb_array_elements(attempt_log || ${JSON.stringify([entry])}::jsonb)
            with ordinality as entries(item, ord)
          order by ord desc limit ${MAX_LOGGED_ATTEMPTS}) as kept)
    where id = ${row.id}`.execute(db);

  let endpointDisabled = false;
  if (!mode.retry) {
    // A test tells the admin how the endpoint answers; it does not change the endpoint.
  } else if (succeeded) {
    await db
      .updateTable('webhook_endpoints')
      .set({ consecutive_failures: 0, failing_since: null })
      .where('id', '=', row.endpointId)
      .where('consecutive_failures', '>', 0)
      .execute();
  } else {
    const failing = await db
      .updateTable('webhook_endpoints')
      .set((eb) => ({
        consecutive_failures: eb('consecutive_failures', '+', 1),
        failing_since: sql<Date>`coalesce(failing_since, ${now})`,
      }))
      .where('id', '=', row.endpointId)
      .returning(['consecutive_failures', 'failing_since'])
      .executeTakeFirst();
    const failingForMs =
      failing?.failing_since === null || failing === undefined
        ? 0
        : nowMs - failing.failing_since.getTime();
    const reason = gone
      ? 'gone'
      : failing !== undefined &&
          (failing.consecutive_failures >= options.disableAfterFailures ||
            failingForMs >= options.disableAfterMs)
        ? 'failures'
        : undefined;
    if (reason !== undefined) {
      endpointDisabled = await disableWebhookEndpoint(db, row.endpointId, reason, {
        actor: 'system:webhooks',
        atMs: nowMs,
        details: {
          consecutiveFailures: failing?.consecutive_failures ?? 0,
          lastStatusCode: result.statusCode,
          lastError: error,
        },
      });
    }
  }
  return {
    deliveryId: row.id,
    status,
    statusCode: result.statusCode,
    error,
    endpointDisabled,
  };
}
