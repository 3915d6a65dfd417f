import { z } from 'zod';
import { idSchema, tenantSchema, timestampSchema } from './common.js';
import { notificationTypeSchema } from './notifications.js';

/**
 * A webhook endpoint's URL: http or https, at most 2048 characters, no credentials in it.
 * Whether its host may be a private or loopback address is the server's decision
 * (`allowPrivateWebhookUrls`), made when it is created and again before each delivery.
 */
export const webhookUrlSchema = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((value) => {
    // zod runs refinements after a failed format check too: an unparsable value is not ours.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.username === '' && url.password === '';
  }, 'must not carry a user name or password');

/** The types an endpoint subscribes to: at least one, no repeats. */
export const webhookEventTypesSchema = z
  .array(notificationTypeSchema)
  .min(1)
  .max(32)
  .refine((types) => new Set(types).size === types.length, 'must not repeat a type');

/** `POST /v1/admin/webhooks` body. */
export const createWebhookRequestSchema = z.strictObject({
  tenant: tenantSchema,
  url: webhookUrlSchema,
  events: webhookEventTypesSchema,
  /** A note for operators. */
  description: z.string().max(500).optional(),
});

/** `PATCH /v1/admin/webhooks/:id` body: any of url, events, enabled (re-enabling resets failures). */
export const updateWebhookRequestSchema = z
  .strictObject({
    url: webhookUrlSchema.optional(),
    events: webhookEventTypesSchema.optional(),
    enabled: z.boolean().optional(),
    description: z.string().max(500).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'name at least one field to change');

/** `POST /v1/admin/webhooks/:id/rotate-secret` body (optional). */
export const rotateWebhookSecretRequestSchema = z.strictObject({
  /**
   * How long the previous secret keeps signing beside the new one, in seconds (0: stop now).
   * Default 86400 (24 h).
   */
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .optional(),
});

/** A webhook endpoint as the admin API shows it (never its secret). */
export const webhookEndpointSchema = z.strictObject({
  id: idSchema,
  tenant: tenantSchema,
  url: z.string(),
  events: z.array(notificationTypeSchema),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabledAt: timestampSchema.nullable(),
  /** `gone`, `failures` or `admin` while disabled. */
  disabledReason: z.string().nullable(),
  /** Failed deliveries in a row (reset by a success or by re-enabling). */
  consecutiveFailures: z.number().int().nonnegative(),
  /** When the current run of failures began. */
  failingSince: timestampSchema.nullable(),
  /** Until when the secret before the last rotation still signs (null: it does not). */
  previousSecretExpiresAt: timestampSchema.nullable(),
  createdAt: timestampSchema,
});

/** `POST /v1/admin/webhooks` and `…/rotate-secret` response: the secret is shown this once. */
export const webhookWithSecretSchema = webhookEndpointSchema.extend({
  /** `whsec_` and the base64 of 32 random bytes. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/]+=*$/),
});

/** `GET /v1/admin/webhooks` response. */
export const listWebhooksResponseSchema = z.strictObject({
  webhooks: z.array(webhookEndpointSchema),
});

/** One HTTP attempt of a delivery. */
export const webhookAttemptSchema = z.strictObject({
  attempt: z.number().int().positive(),
  at: timestampSchema,
  /** The receiver's status; null when no answer came (refused, timeout, blocked address). */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  latencyMs: z.number().int().nonnegative(),
});

/** A delivery of one notification to one endpoint. */
export const webhookDeliverySchema = z.strictObject({
  /** Also the `webhook-id` header: the receiver's idempotency key. */
  id: idSchema,
  endpointId: idSchema,
  type: notificationTypeSchema,
  /** The stream record it came from (null for a test delivery). */
  streamSeq: z.number().int().nullable(),
  status: z.enum(['pending', 'succeeded', 'failed', 'dead']),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: timestampSchema.nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastLatencyMs: z.number().int().nullable(),
  createdAt: timestampSchema,
  attemptLog: z.array(webhookAttemptSchema),
});

/** `GET /v1/admin/webhooks/:id/deliveries` response, newest first. */
export const listWebhookDeliveriesResponseSchema = z.strictObject({
  deliveries: z.array(webhookDeliverySchema),
});
