import { z } from 'zod';
import {
  idSchema,
  publicKeysSchema,
  scopeSchema,
  tenantSchema,
  timestampSchema,
} from './common.js';
import { consentSnapshotSchema } from './consent-snapshot.js';
import { deviceConfigSchema } from './device-config.js';

/** `POST /v1/enroll` body (bearer: the install token). */
export const enrollRequestSchema = z.strictObject({
  hostname: z.string().min(1).max(255),
  os: z.string().min(1).max(64),
  arch: z.string().min(1).max(32),
  agentVersion: z.string().max(64).optional(),
  publicKeys: publicKeysSchema,
});

/** `POST /v1/enroll` body. */
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

/** `POST /v1/enroll` response: the device's identity and everything it needs to start. */
export const enrollResponseSchema = z.strictObject({
  deviceId: idSchema,
  tenant: tenantSchema,
  /** Bearer token for device routes; shown once, stored hashed by the server. */
  deviceToken: z.string().min(16).max(512),
  /** The server's keys; the agent pins them and refuses any other. */
  serverPublicKeys: publicKeysSchema,
  config: deviceConfigSchema,
  consent: consentSnapshotSchema,
});

/** `POST /v1/enroll` response. */
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

/**
 * `POST /v1/keys/rotate` body (bearer: the device token). The request is accepted only when
 * `signature` verifies with the device's current signing key (possession of the old key) and
 * `newSignature` with the new one (possession of the new key); both sign
 * {@link keyRotationSigningBytes}.
 */
export const rotateKeysRequestSchema = z.strictObject({
  deviceId: idSchema,
  newPublicKeys: publicKeysSchema,
  /** Milliseconds since the epoch; must be within the server's clock skew. */
  ts: z.number().int().nonnegative(),
  /** 16–64 random bytes, base64url; used once. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22,86}$/),
  /** Ed25519 by the current key, base64url. */
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
  /** Ed25519 by the new key, base64url. */
  newSignature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});

/** `POST /v1/keys/rotate` body. */
export type RotateKeysRequest = z.infer<typeof rotateKeysRequestSchema>;

/** `POST /v1/keys/rotate` response: the keys now on record and when they took effect. */
export const rotateKeysResponseSchema = z.strictObject({
  deviceId: idSchema,
  publicKeys: publicKeysSchema,
  rotatedAt: timestampSchema,
});

/** `POST /v1/keys/rotate` response. */
export type RotateKeysResponse = z.infer<typeof rotateKeysResponseSchema>;

/** A command for the device, as delivered over HTTP or the socket. */
export const commandSchema = z.strictObject({
  id: idSchema,
  type: z.string().min(1).max(128),
  body: z.unknown().optional(),
  issuedAt: timestampSchema,
  expiresAt: timestampSchema,
});

/** A command for the device. */
export type Command = z.infer<typeof commandSchema>;

/** `GET /v1/commands` response: the device's undelivered or unacked commands, oldest first. */
export const commandsResponseSchema = z.strictObject({
  commands: z.array(commandSchema),
});

/** `GET /v1/commands` response. */
export type CommandsResponse = z.infer<typeof commandsResponseSchema>;

/**
 * How a device answers a command, over HTTP (`POST /v1/commands/:id/ack`)
 * or in a socket `ack` frame: `acked` once handled, `rejected` with a reason.
 */
export const commandAckRequestSchema = z.strictObject({
  status: z.enum(['acked', 'rejected']),
  reason: z.string().max(1024).optional(),
});

/** A device's answer to a command. */
export type CommandAckRequest = z.infer<typeof commandAckRequestSchema>;

/**
 * Why the agent dropped events before they reached the server, counted by reason: events,
 * except `spool_corrupt` and `spool_unreadable`, which count spool FILES the agent set aside in
 * its quarantine (a damaged or unreadable file cannot be trusted to say how many events it held).
 */
export const dropCountsSchema = z.partialRecord(
  z.enum([
    'no_consent',
    'invalid',
    'overflow',
    'spool_trimmed',
    'spool_corrupt',
    'spool_unreadable',
    'rejected_by_server',
  ]),
  z.number().int().nonnegative(),
);

/** Drop counts by reason. */
export type DropCounts = z.infer<typeof dropCountsSchema>;

/**
 * The plaintext inside the sealed body of `POST /v1/events` (frame kind 1).
 * Events are validated one by one by the server, so `events` is an array of
 * unknown values here.
 */
export const eventBatchSchema = z.strictObject({
  batchId: z.uuid(),
  sentAt: timestampSchema,
  events: z.array(z.unknown()).min(1).max(10_000),
  drops: dropCountsSchema.optional(),
});

/** The plaintext of an events batch. */
export type EventBatch = z.infer<typeof eventBatchSchema>;

/** The fate of one event of a batch. */
export const eventResultSchema = z.discriminatedUnion('status', [
  z.strictObject({ id: z.string(), status: z.literal('accepted') }),
  z.strictObject({ id: z.string(), status: z.literal('duplicate') }),
  z.strictObject({
    id: z.string(),
    status: z.literal('rejected'),
    code: z.string().min(1).max(64),
    message: z.string().max(4096),
  }),
]);

/** The fate of one event of a batch. */
export type EventResult = z.infer<typeof eventResultSchema>;

/**
 * `POST /v1/events` response. Partial success is normal: each event has its
 * own result; `id` of an event that had no readable id is `""` with its index
 * in `index`.
 */
export const eventsResponseSchema = z.strictObject({
  batchId: z.uuid(),
  results: z.array(eventResultSchema),
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  consent: consentSnapshotSchema,
  commands: z.array(commandSchema),
});

/** `POST /v1/events` response. */
export type EventsResponse = z.infer<typeof eventsResponseSchema>;

/** A job report: the plaintext inside the sealed body of `POST /v1/reports` (frame kind 3). */
export const jobReportSchema = z.strictObject({
  id: z.uuid(),
  job: z.string().min(1).max(128),
  startedAt: timestampSchema,
  finishedAt: timestampSchema,
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  durationMs: z.number().int().nonnegative(),
  metrics: z.record(z.string().max(128), z.number()),
  error: z
    .strictObject({ message: z.string().max(4096), code: z.string().max(128).optional() })
    .optional(),
});

/** A job report. */
export type JobReport = z.infer<typeof jobReportSchema>;

/** `POST /v1/reports` response. */
export const reportResponseSchema = z.strictObject({
  id: z.uuid(),
  status: z.enum(['accepted', 'duplicate']),
  commands: z.array(commandSchema),
});

/** `POST /v1/reports` response. */
export type ReportResponse = z.infer<typeof reportResponseSchema>;

/** The scopes a consent grant covers, as sent by admin or agent UI. */
export const consentScopesSchema = z.array(scopeSchema).min(1).max(64);
