import type {
  NotificationType,
  webhookDeliverySchema,
  webhookEndpointSchema,
} from '@fieldline/core';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from '../db/database-schema.js';

/** A webhook endpoint as the admin API shows it. */
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;
/** A webhook delivery as the admin API shows it, with its attempts. */
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

/**
 * The admin view of an endpoint row (never its secret).
 *
 * @param row - the stored row.
 * @returns the view.
 * @internal
 */
export function toWebhookEndpoint(row: Selectable<WebhookEndpointsTable>): WebhookEndpoint {
  return {
    id: row.id,
    tenant: row.tenant_id,
    url: row.url,
    events: row.event_types as NotificationType[],
    description: row.description,
    enabled: row.enabled,
    disabledAt: iso(row.disabled_at),
    disabledReason: row.disabled_reason,
    consecutiveFailures: row.consecutive_failures,
    failingSince: iso(row.failing_since),
    previousSecretExpiresAt:
      row.previous_secret_ciphertext === null ? null : iso(row.previous_secret_expires_at),
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * The admin view of a delivery row.
 *
 * @param row - the stored row.
 * @returns the view.
 * @internal
 */
export function toWebhookDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    type: row.type as NotificationType,
    streamSeq: row.stream_seq === null ? null : Number(row.stream_seq),
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: iso(row.next_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    lastLatencyMs: row.last_latency_ms,
    createdAt: row.created_at.toISOString(),
    attemptLog: row.attempt_log,
  };
}
