import { z } from 'zod';
import { idSchema, scopeSchema, tenantSchema, timestampSchema } from './common.js';
import { consentSnapshotSchema } from './consent-snapshot.js';

// Notification payloads are small facts about a change, never raw event content: a receiver
// that wants more asks the admin API with the ids given here. Each is strict, so adding a field
// is a visible protocol change (docs/webhooks.md lists them).

/** `consent.granted` / `consent.withdrawn`: a device's consent changed. */
export const consentNotificationSchema = z.strictObject({
  deviceId: idSchema,
  /** The consent ledger row's id. */
  ledgerId: idSchema,
  /** `admin-api` (an admin) or `agent-ui` (the person at the device). */
  method: z.enum(['admin-api', 'agent-ui']),
  /** The scopes the change concerned. */
  scopes: z.array(scopeSchema),
  /** The device's consent after the change. */
  consent: consentSnapshotSchema,
  at: timestampSchema,
});

/** `policy.published`: a tenant published a policy version (its devices now wait for consent). */
export const policyPublishedNotificationSchema = z.strictObject({
  version: z.number().int().positive(),
  scopes: z.array(scopeSchema),
  /** How many devices were moved to pending. */
  devices: z.number().int().nonnegative(),
  at: timestampSchema,
});

/** `device.online` / `device.offline`: a device's live connection opened or closed. */
export const devicePresenceNotificationSchema = z.strictObject({
  deviceId: idSchema,
  at: timestampSchema,
});

/** `command.finished`: a command reached a final status. */
export const commandFinishedNotificationSchema = z.strictObject({
  commandId: idSchema,
  deviceId: idSchema,
  /** The command's type, e.g. `ping`. */
  commandType: z.string().min(1).max(128),
  status: z.enum(['acked', 'rejected', 'failed', 'expired']),
  at: timestampSchema,
});

/** `event.refused_no_consent`: one ingested batch had events refused for want of consent. */
export const eventsRefusedNotificationSchema = z.strictObject({
  deviceId: idSchema,
  batchId: z.string().max(128),
  /** Refused events per scope. */
  refused: z.record(scopeSchema, z.number().int().positive()),
  at: timestampSchema,
});

/** `webhook.endpoint_disabled`: the server stopped delivering to an endpoint. */
export const webhookEndpointDisabledNotificationSchema = z.strictObject({
  endpointId: idSchema,
  /** `gone` (it answered 410), `failures` (too many failed deliveries) or `admin`. */
  reason: z.enum(['gone', 'failures', 'admin']),
  at: timestampSchema,
});

/** `webhook.test`: sent by `POST /v1/admin/webhooks/:id/test` only. */
export const webhookTestNotificationSchema = z.strictObject({
  endpointId: idSchema,
  at: timestampSchema,
});

/** Every notification type, with the schema of its payload. */
export const notificationPayloadSchemas = {
  'consent.granted': consentNotificationSchema,
  'consent.withdrawn': consentNotificationSchema,
  'policy.published': policyPublishedNotificationSchema,
  'device.online': devicePresenceNotificationSchema,
  'device.offline': devicePresenceNotificationSchema,
  'command.finished': commandFinishedNotificationSchema,
  'event.refused_no_consent': eventsRefusedNotificationSchema,
  'webhook.endpoint_disabled': webhookEndpointDisabledNotificationSchema,
  'webhook.test': webhookTestNotificationSchema,
} as const;

/** A notification type: the outbox topic, and the `type` of a webhook body. */
export type NotificationType = keyof typeof notificationPayloadSchemas;

/** The payload of a notification of type `T`. */
export type NotificationPayload<T extends NotificationType> = z.infer<
  (typeof notificationPayloadSchemas)[T]
>;

/** Every notification type, in documentation order. */
export const NOTIFICATION_TYPES = Object.keys(notificationPayloadSchemas) as NotificationType[];

/** A notification type name. */
export const notificationTypeSchema = z.enum(
  NOTIFICATION_TYPES as [NotificationType, ...NotificationType[]],
);

/**
 * Whether a stream topic is a notification type.
 *
 * @param topic - an outbox topic.
 * @returns true for the types of {@link notificationPayloadSchemas}.
 * @example
 * ```ts
 * if (isNotificationType(record.topic)) deliver(record);
 * ```
 */
export function isNotificationType(topic: string): topic is NotificationType {
  return Object.hasOwn(notificationPayloadSchemas, topic);
}

/**
 * The body of a webhook delivery (Standard Webhooks shape): the type, when it happened, the
 * tenant, and the type's payload under `data`.
 */
export const webhookBodySchema = z.strictObject({
  type: notificationTypeSchema,
  timestamp: timestampSchema,
  tenant: tenantSchema,
  data: z.record(z.string(), z.unknown()),
});

/** The body of a webhook delivery. */
export type WebhookBody = z.infer<typeof webhookBodySchema>;
