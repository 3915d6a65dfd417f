import { z } from 'zod';
import { idSchema, timestampSchema } from './common.js';
import { commandSchema } from './device-api.js';

/**
 * The first frame a device sends on `GET /v1/ws`: its id, a timestamp, a
 * one-time nonce and an Ed25519 signature over the canonical hello bytes.
 */
export const helloFrameSchema = z.strictObject({
  kind: z.literal('hello'),
  deviceId: idSchema,
  ts: z.number().int().nonnegative(),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'must be a 64-byte signature as base64url'),
});

/** The server's answer to a valid hello. */
export const welcomeFrameSchema = z.strictObject({
  kind: z.literal('welcome'),
  sessionToken: z.string().min(16),
  expiresAt: timestampSchema,
  heartbeatIntervalMs: z.number().int().positive(),
});

/** A heartbeat, either way. */
export const heartbeatFrameSchema = z.strictObject({
  kind: z.literal('heartbeat'),
  ts: z.number().int().nonnegative(),
});

/** A channel message; `sealed` holds the body as a sealed frame (kind 2). */
export const channelMessageFrameSchema = z.strictObject({
  kind: z.literal('message'),
  id: z.uuid(),
  channel: z.string().min(1).max(64),
  type: z.string().min(1).max(128),
  ts: z.number().int().nonnegative(),
  sealed: z.string().regex(/^[A-Za-z0-9_-]+$/),
  replyTo: z.uuid().optional(),
});

/** A command pushed to the device. */
export const commandFrameSchema = z.strictObject({
  kind: z.literal('command'),
  command: commandSchema,
});

/** The device's answer to a command. */
export const ackFrameSchema = z.strictObject({
  kind: z.literal('ack'),
  id: idSchema,
  status: z.enum(['acked', 'rejected']),
  reason: z.string().max(1024).optional(),
});

/** A protocol error the peer reports before (maybe) closing. */
export const errorFrameSchema = z.strictObject({
  kind: z.literal('error'),
  code: z.string().min(1).max(64),
  message: z.string().max(4096),
});

/** Any frame on the real-time channel, discriminated on `kind`. */
export const realtimeFrameSchema = z.discriminatedUnion('kind', [
  helloFrameSchema,
  welcomeFrameSchema,
  heartbeatFrameSchema,
  channelMessageFrameSchema,
  commandFrameSchema,
  ackFrameSchema,
  errorFrameSchema,
]);

/** Any frame on the real-time channel. */
export type RealtimeFrame = z.infer<typeof realtimeFrameSchema>;
