import { randomUUID } from 'node:crypto';
import { isNotificationType } from '@fieldline/core';
import { sql } from 'kysely';
import type { StreamHandler } from '../stream/event-stream.js';

/**
 * A delivery id: `msg_` and a random UUID. It is the `webhook-id` header, the same on every
 * retry of the delivery.
 *
 * @returns a new id.
 * @internal
 */
export function newDeliveryId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

/**
 * The stream handler of the `webhooks` consumer: turns each notification record into one
 * pending delivery per enabled endpoint of the record's tenant subscribed to its type, in one
 * statement in the consumer's transaction. Idempotent by (endpoint, record seq): a replayed
 * record inserts nothing new. Other topics (e.g. `events.ingested`) are skipped.
 *
 * @returns the handler.
 * @example
 * ```ts
 * stream.consume('webhooks', createWebhookEnqueueHandler());
 * ```
 */
export function createWebhookEnqueueHandler(): StreamHandler {
  return async (record, { db }) => {
    if (!isNotificationType(record.topic)) return;
    const body = JSON.stringify({
      type: record.topic,
      timestamp: record.createdAt.toISOString(),
      tenant: record.tenantId,
      data: record.payload,
    });
    const endpoints = await db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('tenant_id', '=', record.tenantId)
      .where('enabled', '=', true)
      .where(sql<boolean>`event_types ? ${record.topic}`)
      .execute();
    if (endpoints.length === 0) return;
    await db
      .insertInto('webhook_deliveries')
      .values(
        endpoints.map((endpoint) => ({
          id: newDeliveryId(),
          endpoint_id: endpoint.id,
          tenant_id: record.tenantId,
          stream_seq: record.seq,
          type: record.topic,
          body,
          status: 'pending' as const,
          next_attempt_at: null,
        })),
      )
      .onConflict((conflict) => conflict.columns(['endpoint_id', 'stream_seq']).doNothing())
      .execute();
  };
}
