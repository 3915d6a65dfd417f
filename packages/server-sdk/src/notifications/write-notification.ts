import {
  InvalidArgumentError,
  type NotificationPayload,
  type NotificationType,
  notificationPayloadSchemas,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * Writes one notification into the event stream: an outbox row whose topic is the notification
 * type. Pass the transaction that makes the change, so the notification exists exactly when
 * the change does (consumers such as the webhook dispatcher then read it at least once).
 *
 * @param db - the caller's transaction (or the database, for a change of its own).
 * @param tenantId - the tenant the change belongs to.
 * @param type - the notification type.
 * @param payload - its payload; checked against core's schema for the type.
 * @returns once the row is inserted.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when the payload
 *   does not match the type's schema (a programmer error: payloads are built by the server).
 * @example
 * ```ts
 * await writeNotification(trx, 'acme', 'device.online', { deviceId, at: new Date().toISOString() });
 * ```
 */
export async function writeNotification<T extends NotificationType>(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
  type: T,
  payload: NotificationPayload<T>,
): Promise<void> {
  const parsed = notificationPayloadSchemas[type].safeParse(payload);
  if (!parsed.success) {
    throw new InvalidArgumentError(`Notification ${type} has an invalid payload.`, {
      type,
      issues: parsed.error.issues,
    });
  }
  await db
    .insertInto('outbox')
    .values({ tenant_id: tenantId, topic: type, payload: JSON.stringify(parsed.data) })
    .execute();
}
