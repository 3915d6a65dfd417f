import { z } from 'zod';
import { scopeSchema } from '../protocol/common.js';
import { epochMsSchema, policyVersionSchema } from './consent-state.js';

/**
 * A new policy version was published. Versions are positive integers and only
 * move forward; every state moves to `pending` for re-consent.
 */
export interface ConsentPolicyPublishedEvent {
  readonly type: 'policy_published';
  /** The new policy version. */
  readonly version: number;
}

/** The subject granted (or re-granted, replacing the previous grant) some scopes. */
export interface ConsentGrantEvent {
  readonly type: 'grant';
  /** The policy version the subject was shown; must be the current one. */
  readonly policyVersion: number;
  /** The scopes granted; non-empty. Duplicates are ignored. */
  readonly scopes: readonly string[];
  /** When the subject granted, epoch ms. */
  readonly at: number;
  /** When the grant lapses, epoch ms (exclusive); must be after `at`. */
  readonly expiresAt?: number;
}

/**
 * The subject withdrew consent: to every scope (no `scopes`; from `pending` this
 * is a refusal), or to some scopes of a live grant.
 */
export interface ConsentWithdrawEvent {
  readonly type: 'withdraw';
  /** When the subject withdrew, epoch ms. */
  readonly at: number;
  /** The scopes withdrawn; absent means all. An empty list is rejected as ambiguous. */
  readonly scopes?: readonly string[];
}

/** A time-limited grant reached its `expiresAt`. */
export interface ConsentExpireEvent {
  readonly type: 'expire';
  /** When the lapse is processed, epoch ms; must be at or after the grant's `expiresAt`. */
  readonly at: number;
}

/** Everything that can happen to a {@link ConsentState}. A discriminated union on `type`. */
export type ConsentEvent =
  | ConsentPolicyPublishedEvent
  | ConsentGrantEvent
  | ConsentWithdrawEvent
  | ConsentExpireEvent;

/** The discriminant of a {@link ConsentEvent}. */
export type ConsentEventType = ConsentEvent['type'];

/** Every {@link ConsentEventType}. */
export const CONSENT_EVENT_TYPES: readonly ConsentEventType[] = Object.freeze([
  'policy_published',
  'grant',
  'withdraw',
  'expire',
]);

/**
 * Validates the shape of a {@link ConsentEvent} (unknown keys rejected). Shape
 * only: whether the event is legal depends on the state, which `transition`
 * decides. Empty scope lists pass here and are rejected by `transition` with
 * their own code.
 *
 * @example
 * ```ts
 * const parsed = consentEventSchema.safeParse(body);
 * if (!parsed.success) return badRequest(parsed.error);
 * ```
 */
export const consentEventSchema: z.ZodType<ConsentEvent> = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('policy_published'), version: policyVersionSchema }),
  z
    .strictObject({
      type: z.literal('grant'),
      policyVersion: policyVersionSchema,
      scopes: z.array(scopeSchema),
      at: epochMsSchema,
      expiresAt: epochMsSchema.optional(),
    })
    .refine((e) => e.expiresAt === undefined || e.expiresAt > e.at, {
      message: 'expiresAt must be after at',
      path: ['expiresAt'],
    }),
  z.strictObject({
    type: z.literal('withdraw'),
    at: epochMsSchema,
    scopes: z.array(scopeSchema).optional(),
  }),
  z.strictObject({ type: z.literal('expire'), at: epochMsSchema }),
]);
