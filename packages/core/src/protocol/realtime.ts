import { z } from 'zod';
import { idSchema, timestampSchema } from './common.js';

const nonceSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16–64 base64url characters');

const signatureSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, 'must be a 64-byte signature as base64url');

/**
 * The first frame on `GET /v1/ws`, sent by the server as soon as the socket opens: 32 fresh
 * random bytes that the device's hello or resume signature must cover, so a signed frame
 * recorded on one connection is worthless on any other (docs/protocol.md §4.2).
 */
export const challengeFrameSchema = z.strictObject({
  kind: z.literal('challenge'),
  challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes as base64url'),
});

/**
 * The first frame a device sends on `GET /v1/ws`: its id, a timestamp, a
 * one-time nonce and an Ed25519 signature over the canonical hello bytes, which
 * include the connection's challenge.
 */
export const helloFrameSchema = z.strictObject({
  kind: z.literal('hello'),
  deviceId: idSchema,
  ts: z.number().int().nonnegative(),
  nonce: nonceSchema,
  sig: signatureSchema,
});

/**
 * Instead of a hello, a reconnecting device may continue the session of an earlier welcome:
 * its token plus the device's signature over the connection's challenge (the token alone
 * never authenticates, since it crosses `ws://` in clear).
 */
export const resumeFrameSchema = z.strictObject({
  kind: z.literal('resume'),
  deviceId: idSchema,
  sessionToken: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 32-byte token as base64url'),
  /** Fresh per connection, like a hello's: binds the connection's session key (§4.2). */
  nonce: nonceSchema,
  /** The device's Ed25519 signature over the resume bytes (`resumeSigningBytes`). */
  sig: signatureSchema,
});

const base64UrlSchema = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be unpadded base64url');

/**
 * The session key of one connection (docs/protocol.md §4.2): the HPKE `enc` of a base-mode
 * context to the device's X25519 key, and the server's Ed25519 signature binding it to the
 * device and the nonce of its hello or resume.
 */
export const sessionOfferSchema = z.strictObject({
  enc: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 32-byte key as base64url'),
  sig: signatureSchema,
});

/** The server's answer to a valid hello or resume. */
export const welcomeFrameSchema = z.strictObject({
  kind: z.literal('welcome'),
  sessionToken: z.string().min(16),
  expiresAt: timestampSchema,
  heartbeatIntervalMs: z.number().int().positive(),
  heartbeatTimeoutMs: z.number().int().positive(),
  session: sessionOfferSchema,
});

/** A heartbeat, either way. */
export const heartbeatFrameSchema = z.strictObject({
  kind: z.literal('heartbeat'),
  ts: z.number().int().nonnegative(),
});

/**
 * A channel message. From a device, `sealed` holds the body as a sealed frame (kind 2; kind 1
 * on the `events` channel); from the server, `box` holds it as a box of the connection's
 * session (§4.2). Exactly one of the two is present. A reply names the request in `replyTo`.
 */
export const channelMessageFrameSchema = z
  .strictObject({
    kind: z.literal('message'),
    id: z.uuid(),
    channel: z.string().min(1).max(64),
    type: z.string().min(1).max(128),
    ts: z.number().int().nonnegative(),
    sealed: base64UrlSchema.optional(),
    box: base64UrlSchema.optional(),
    replyTo: z.uuid().optional(),
  })
  .refine((frame) => (frame.sealed === undefined) !== (frame.box === undefined), {
    message: 'a message carries exactly one of sealed (from a device) or box (from the server)',
  });

/**
 * A command pushed to the device: `box` is a box of the connection's session whose plaintext
 * is a `Command`; `id` repeats the command id (and is bound to the box).
 */
export const commandFrameSchema = z.strictObject({
  kind: z.literal('command'),
  id: idSchema,
  box: base64UrlSchema,
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
  replyTo: z.uuid().optional(),
});

/** Any frame on the real-time channel, discriminated on `kind`. */
export const realtimeFrameSchema = z.discriminatedUnion('kind', [
  challengeFrameSchema,
  helloFrameSchema,
  resumeFrameSchema,
  welcomeFrameSchema,
  heartbeatFrameSchema,
  channelMessageFrameSchema,
  commandFrameSchema,
  ackFrameSchema,
  errorFrameSchema,
]);

/** Any frame on the real-time channel. */
export type RealtimeFrame = z.infer<typeof realtimeFrameSchema>;

/** The server's first frame: the connection's challenge. */
export type ChallengeFrame = z.infer<typeof challengeFrameSchema>;
/** The first frame of a device: a signed hello or a resume. */
export type HelloFrame = z.infer<typeof helloFrameSchema>;
/** A resume with an earlier session token. */
export type ResumeFrame = z.infer<typeof resumeFrameSchema>;
/** The server's welcome. */
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;
/** A channel message frame. */
export type ChannelMessageFrame = z.infer<typeof channelMessageFrameSchema>;
/** A command frame. */
export type CommandFrame = z.infer<typeof commandFrameSchema>;
/** An ack frame. */
export type AckFrame = z.infer<typeof ackFrameSchema>;
/** An error frame. */
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
