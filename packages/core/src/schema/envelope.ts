import { z } from 'zod';

/**
 * Event type names are `namespace.name` (two or more lowercase dot-separated
 * segments), e.g. `activity.app.launched`.
 */
export const EVENT_TYPE_PATTERN: RegExp = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/;

/** Consent scope names: lowercase, starting with a letter, at most 64 characters. */
export const SCOPE_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,63}$/;

/** Longest accepted event type name, in characters. */
export const MAX_EVENT_TYPE_LENGTH = 128;

/**
 * The fields of the envelope, shared by the generic schema and the per-type
 * schemas the registry compiles (which narrow `type`, `scope` and `data`).
 * @internal
 */
export const envelopeShape = {
  id: z.uuid({ version: 'v7', message: 'must be a UUIDv7' }),
  type: z
    .string()
    .max(MAX_EVENT_TYPE_LENGTH)
    .regex(EVENT_TYPE_PATTERN, 'must look like namespace.name'),
  occurredAt: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }),
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  scope: z.string().regex(SCOPE_PATTERN, 'must be a lowercase scope name'),
  data: z.record(z.string(), z.unknown()),
} as const;

/**
 * Zod schema of the protocol v1 event envelope, with `data` left open. The
 * registry checks `data` against the event type's own strict schema.
 * Unknown envelope keys are rejected.
 */
export const eventEnvelopeSchema = z.strictObject(envelopeShape);

/**
 * One event as it travels from agent to server (protocol v1).
 *
 * @typeParam Type - the event type name.
 * @typeParam Data - the shape of `data` for that type.
 */
export interface EventEnvelope<
  Type extends string = string,
  Data extends object = Readonly<Record<string, unknown>>,
> {
  /** UUIDv7 made by the agent; the idempotency key of the event. */
  readonly id: string;
  /** Registered event type, `namespace.name`. */
  readonly type: Type;
  /** When the event happened on the device, RFC 3339. */
  readonly occurredAt: string;
  /** Per-device monotonic sequence number. */
  readonly seq: number;
  /** The consent scope the event needs. */
  readonly scope: string;
  /** The type-specific payload. */
  readonly data: Data;
}
