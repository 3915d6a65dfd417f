import { z } from 'zod';
import { scopeSchema } from '../protocol/common.js';

/** No policy has been seen yet: nothing can be asked, nothing is granted. */
export interface UnknownConsentState {
  readonly status: 'unknown';
}

/**
 * A policy exists and the subject has not decided on it yet: first time, or
 * re-consent after a new policy version.
 */
export interface PendingConsentState {
  readonly status: 'pending';
  /** The policy version the subject is being asked about. */
  readonly policyVersion: number;
}

/** The subject consented to some scopes of the current policy version. */
export interface GrantedConsentState {
  readonly status: 'granted';
  /** The policy version the grant was given for. */
  readonly policyVersion: number;
  /** The granted scopes: non-empty, deduplicated and sorted, so equal grants compare equal. */
  readonly scopes: readonly string[];
  /** When the grant took effect, epoch ms. */
  readonly grantedAt: number;
  /** When the grant lapses, epoch ms (exclusive); absent for a grant without end. */
  readonly expiresAt?: number;
}

/**
 * The subject withdrew every scope, or refused when asked. Nothing is collected
 * (except the operational scope) until the subject grants again or a new policy
 * version re-asks.
 */
export interface WithdrawnConsentState {
  readonly status: 'withdrawn';
  /** The policy version that was current when the subject withdrew. */
  readonly policyVersion: number;
  /** When the withdrawal took effect, epoch ms. */
  readonly withdrawnAt: number;
}

/** A time-limited grant ran out. The subject must grant again. */
export interface ExpiredConsentState {
  readonly status: 'expired';
  /** The policy version of the grant that lapsed. */
  readonly policyVersion: number;
  /** When the grant lapsed (the grant's `expiresAt`, not when the lapse was noticed), epoch ms. */
  readonly expiredAt: number;
}

/**
 * Where a subject (a device and its user) stands on consent. A discriminated
 * union on `status`; change it only through `transition`.
 */
export type ConsentState =
  | UnknownConsentState
  | PendingConsentState
  | GrantedConsentState
  | WithdrawnConsentState
  | ExpiredConsentState;

/** The discriminant of a {@link ConsentState}. */
export type ConsentStatus = ConsentState['status'];

/** Every {@link ConsentStatus}, in lifecycle order. */
export const CONSENT_STATUSES: readonly ConsentStatus[] = Object.freeze([
  'unknown',
  'pending',
  'granted',
  'withdrawn',
  'expired',
]);

/** The state before any policy is known; the default start of a consent machine. */
export const UNKNOWN_CONSENT_STATE: UnknownConsentState = Object.freeze({ status: 'unknown' });

/**
 * A policy version: a positive safe integer.
 *
 * @internal
 */
export const policyVersionSchema = z.int().positive();

/**
 * An instant as epoch milliseconds: a non-negative safe integer.
 *
 * @internal
 */
export const epochMsSchema = z.int().nonnegative();

const grantedStateSchema = z
  .strictObject({
    status: z.literal('granted'),
    policyVersion: policyVersionSchema,
    scopes: z.array(scopeSchema).min(1),
    grantedAt: epochMsSchema,
    expiresAt: epochMsSchema.optional(),
  })
  .refine((s) => new Set(s.scopes).size === s.scopes.length, {
    message: 'scopes must be unique',
    path: ['scopes'],
  })
  .refine((s) => s.expiresAt === undefined || s.expiresAt > s.grantedAt, {
    message: 'expiresAt must be after grantedAt',
    path: ['expiresAt'],
  });

/**
 * Validates a stored or received {@link ConsentState} (unknown keys rejected).
 * Use it on state read back from disk or the network before handing it to
 * `transition` or `createConsentMachine`.
 *
 * @example
 * ```ts
 * const parsed = consentStateSchema.safeParse(JSON.parse(text));
 * if (parsed.success) machine = createConsentMachine({ initial: parsed.data, clock });
 * ```
 */
export const consentStateSchema: z.ZodType<ConsentState> = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('unknown') }),
  z.strictObject({ status: z.literal('pending'), policyVersion: policyVersionSchema }),
  grantedStateSchema,
  z.strictObject({
    status: z.literal('withdrawn'),
    policyVersion: policyVersionSchema,
    withdrawnAt: epochMsSchema,
  }),
  z.strictObject({
    status: z.literal('expired'),
    policyVersion: policyVersionSchema,
    expiredAt: epochMsSchema,
  }),
]);
