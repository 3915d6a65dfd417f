import { z } from 'zod';
import {
  idSchema,
  publicKeysSchema,
  scopeSchema,
  tenantSchema,
  timestampSchema,
} from './common.js';
import { consentSnapshotSchema } from './consent-snapshot.js';
import { dropCountsSchema } from './device-api.js';
import { deviceConfigSchema } from './device-config.js';
import { policyPurposesSchema, policySummarySchema } from './policy-purposes.js';

// Policy versions are stored as PostgreSQL integers.
const policyVersionSchema = z.number().int().positive().max(2_147_483_647);

// Time-to-live of tokens and commands: up to 30 days, in whole seconds.
const ttlSecondsSchema = z
  .number()
  .int()
  .positive()
  .max(30 * 24 * 3600)
  .optional();

/** `POST /v1/admin/install-tokens` body. */
export const createInstallTokenRequestSchema = z.strictObject({
  tenant: tenantSchema,
  ttlSeconds: ttlSecondsSchema,
});

/** `POST /v1/admin/install-tokens` response: the token is shown once. */
export const createInstallTokenResponseSchema = z.strictObject({
  /** The token's id, for `GET`/`DELETE /v1/admin/install-tokens/:id`; not a secret. */
  id: idSchema,
  token: z.string().min(16),
  expiresAt: timestampSchema,
});

/** An install token as the admin API lists it (never the token itself: only its hash is kept). */
export const installTokenSummarySchema = z.strictObject({
  id: idSchema,
  tenant: tenantSchema,
  /** `unused` (can still enroll), `used`, `expired` or `revoked`. */
  state: z.enum(['unused', 'used', 'expired', 'revoked']),
  createdAt: timestampSchema,
  expiresAt: timestampSchema,
  usedAt: timestampSchema.nullable(),
  usedByDeviceId: idSchema.nullable(),
  revokedAt: timestampSchema.nullable(),
});

/** `GET /v1/admin/install-tokens` response, newest first. */
export const listInstallTokensResponseSchema = z.strictObject({
  installTokens: z.array(installTokenSummarySchema),
});

/** A device as listed by the admin API. */
export const deviceSummarySchema = z.strictObject({
  id: idSchema,
  tenant: tenantSchema,
  hostname: z.string(),
  os: z.string(),
  arch: z.string(),
  status: z.enum(['active', 'revoked']),
  online: z.boolean(),
  lastSeen: timestampSchema.nullable(),
  enrolledAt: timestampSchema,
});

/** `GET /v1/admin/devices` response. */
export const listDevicesResponseSchema = z.strictObject({
  devices: z.array(deviceSummarySchema),
});

/** `GET /v1/admin/devices/:id` response. */
export const deviceDetailSchema = deviceSummarySchema.extend({
  publicKeys: publicKeysSchema,
  consent: consentSnapshotSchema,
  pendingCommands: z.number().int().nonnegative(),
  eventsStored: z.number().int().nonnegative(),
  drops: dropCountsSchema,
  /** When the device was revoked; `null` while it is not. */
  revokedAt: timestampSchema.nullable(),
  /** When the gateway last suspected a clone (two holders of the device's keys). */
  cloneSuspectedAt: timestampSchema.nullable(),
  /** Set while the device is quarantined as a suspected clone: every path refuses it. */
  quarantinedAt: timestampSchema.nullable(),
  /** Whether the device must rotate its keys before anything else is accepted. */
  keyRotationRequired: z.boolean(),
  /** When the device last rotated its keys; `null` if it never did. */
  keysRotatedAt: timestampSchema.nullable(),
});

/** `POST /v1/admin/devices/:id/revoke` response. Revoking again answers the same, `changed: false`. */
export const revokeDeviceResponseSchema = z.strictObject({
  id: idSchema,
  status: z.literal('revoked'),
  revokedAt: timestampSchema,
  /** False when the device was already revoked (nothing changed, nothing audited). */
  changed: z.boolean(),
});

/**
 * `POST /v1/admin/devices/:id/rotate-keys` and `POST /v1/admin/devices/:id/release` response:
 * where the device stands afterwards.
 */
export const deviceStandingResponseSchema = z.strictObject({
  id: idSchema,
  keyRotationRequired: z.boolean(),
  quarantinedAt: timestampSchema.nullable(),
  changed: z.boolean(),
});

/** `POST /v1/admin/devices/:id/consent` body. */
export const consentActionRequestSchema = z.strictObject({
  action: z.enum(['grant', 'withdraw']),
  scopes: z.array(scopeSchema).min(1).max(64).optional(),
  policyVersion: policyVersionSchema.optional(),
  expiresAt: timestampSchema.optional(),
});

/**
 * `POST /v1/admin/policies` body: a new version supersedes every grant. `purposes`, when given,
 * describes every scope (purpose, what is collected, retention); consent records and receipts
 * then carry those words instead of the server's configured or generic purpose texts.
 */
export const createPolicyRequestSchema = z.strictObject({
  tenant: tenantSchema,
  version: policyVersionSchema,
  scopes: z.array(scopeSchema).min(1).max(64),
  text: z.string().min(1).max(100_000),
  url: z.url().optional(),
  summary: policySummarySchema.optional(),
  purposes: policyPurposesSchema.optional(),
});

/** `POST /v1/admin/devices/:id/commands` body. */
export const createCommandRequestSchema = z.strictObject({
  type: z.string().min(1).max(128),
  body: z.unknown().optional(),
  ttlSeconds: ttlSecondsSchema,
});

/** `POST /v1/admin/commands/broadcast` body. */
export const broadcastCommandRequestSchema = createCommandRequestSchema.extend({
  tenant: tenantSchema,
});

/** `POST /v1/admin/commands/broadcast` response: one command per active device of the tenant. */
export const broadcastCommandResponseSchema = z.strictObject({
  count: z.number().int().nonnegative(),
  ids: z.array(idSchema),
});

/** `POST /v1/admin/devices/:id/commands` response. */
export const createCommandResponseSchema = z.strictObject({
  id: idSchema,
  status: z.enum(['pending', 'sent']),
});

/** The lifecycle of a durable command. */
export const commandStatusSchema = z.enum([
  'pending',
  'sent',
  'acked',
  'rejected',
  'failed',
  'expired',
]);

/** `GET /v1/admin/commands/:id` response. */
export const commandRecordSchema = z.strictObject({
  id: idSchema,
  deviceId: idSchema,
  type: z.string(),
  status: commandStatusSchema,
  attempts: z.number().int().nonnegative(),
  maxAttempts: z.number().int().positive(),
  createdAt: timestampSchema,
  expiresAt: timestampSchema,
  ackedAt: timestampSchema.nullable(),
  reason: z.string().nullable(),
});

/** One row of the audit log. */
export const auditEntrySchema = z.strictObject({
  seq: z.number().int().positive(),
  at: timestampSchema,
  tenant: tenantSchema.nullable(),
  actor: z.string(),
  action: z.string(),
  subject: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

const auditHeadSchema = z.strictObject({
  seq: z.number().int().positive(),
  hash: z.string(),
});

/**
 * `GET /v1/admin/audit/verify` response. `ok` is true only when every link and hash holds,
 * the chain still holds the latest signed checkpoint's row unchanged (else `truncated`), and the
 * checkpoint store raised no problem (`checkpointError`).
 */
export const auditVerifyResponseSchema = z.strictObject({
  ok: z.boolean(),
  checked: z.number().int().nonnegative(),
  firstBrokenSeq: z.number().int().positive().nullable(),
  truncated: z.boolean(),
  head: auditHeadSchema.nullable(),
  checkpoint: auditHeadSchema.extend({ at: timestampSchema }).nullable(),
  checkpointError: z.string().nullable(),
});

/** Where a dead letter's replay stands (`POST /v1/admin/dead-letters/:id/replay`). */
export const deadLetterReplaySchema = z.strictObject({
  /** `replaying` while one runs; `replayed` once its events are stored; `failed` may be retried. */
  status: z.enum(['replaying', 'replayed', 'failed']),
  attempts: z.number().int().nonnegative(),
  startedAt: timestampSchema.nullable(),
  finishedAt: timestampSchema.nullable(),
  /** The last replay's per-event counts (`duplicate`: already stored, e.g. resent by the device). */
  result: z
    .strictObject({
      accepted: z.number().int().nonnegative(),
      duplicates: z.number().int().nonnegative(),
      rejected: z.number().int().nonnegative(),
    })
    .nullable(),
  /** Why the last replay failed, or null. */
  error: z.string().nullable(),
});

/** One dead letter: an accepted batch the server could not store, kept for replay. */
export const deadLetterSchema = z.strictObject({
  /** The dead letter's id (a decimal number, increasing). */
  id: z.string().regex(/^[1-9][0-9]*$/),
  tenant: tenantSchema,
  deviceId: idSchema.nullable(),
  /** What was kept; `events` is the only kind the server writes. */
  kind: z.string(),
  /** Why storing failed (the error's message). */
  reason: z.string(),
  createdAt: timestampSchema,
  batchId: z.string().nullable(),
  eventCount: z.number().int().nonnegative(),
  replay: deadLetterReplaySchema.nullable(),
});

/** One dead letter, as the admin API shows it. */
export type DeadLetter = z.infer<typeof deadLetterSchema>;

/** `GET /v1/admin/dead-letters` response: oldest first; `nextCursor` is null on the last page. */
export const listDeadLettersResponseSchema = z.strictObject({
  deadLetters: z.array(deadLetterSchema),
  nextCursor: z.string().nullable(),
});

/** `GET /v1/admin/dead-letters` response. */
export type ListDeadLettersResponse = z.infer<typeof listDeadLettersResponseSchema>;

/** `POST /v1/admin/dead-letters/:id/replay` response. */
export const replayDeadLetterResponseSchema = z.strictObject({
  deadLetter: deadLetterSchema,
  /** True when an earlier replay had already stored it: nothing was run again. */
  alreadyReplayed: z.boolean(),
});

/** `POST /v1/admin/dead-letters/:id/replay` response. */
export type ReplayDeadLetterResponse = z.infer<typeof replayDeadLetterResponseSchema>;

/**
 * `PUT /v1/admin/config` body: the config overrides of a tenant, or of one
 * device when `deviceId` is given. Keys left out keep the default (tenant) or
 * the tenant's value (device); `policyVersion` always follows the latest policy.
 */
export const setConfigRequestSchema = z.strictObject({
  tenant: tenantSchema,
  deviceId: idSchema.optional(),
  config: deviceConfigSchema.omit({ policyVersion: true }).partial(),
});
