import { z } from 'zod';
import type { ConsentState } from '../consent/consent-state.js';
import { scopeSchema, timestampSchema } from './common.js';

/**
 * The device's consent state as the server sends it (enrollment, every
 * events response, pushes). The server is the source of truth; the agent
 * replaces its copy with each snapshot.
 */
export const consentSnapshotSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('unknown') }),
  z.strictObject({ status: z.literal('pending'), policyVersion: z.number().int().positive() }),
  z.strictObject({
    status: z.literal('granted'),
    policyVersion: z.number().int().positive(),
    scopes: z.array(scopeSchema).min(1),
    grantedAt: timestampSchema,
    expiresAt: timestampSchema.optional(),
  }),
  z.strictObject({
    status: z.literal('withdrawn'),
    policyVersion: z.number().int().positive(),
    withdrawnAt: timestampSchema,
  }),
  z.strictObject({
    status: z.literal('expired'),
    policyVersion: z.number().int().positive(),
    expiredAt: timestampSchema,
  }),
]);

/** The device's consent state on the wire. */
export type ConsentSnapshot = z.infer<typeof consentSnapshotSchema>;

/**
 * Converts a consent state (epoch milliseconds, as the state machine keeps
 * it) to its wire form (RFC 3339 strings).
 *
 * @param state - a state from the consent machine.
 * @returns the snapshot to send.
 */
export function toConsentSnapshot(state: ConsentState): ConsentSnapshot {
  const iso = (ms: number) => new Date(ms).toISOString();
  switch (state.status) {
    case 'unknown':
      return { status: 'unknown' };
    case 'pending':
      return { status: 'pending', policyVersion: state.policyVersion };
    case 'granted':
      return {
        status: 'granted',
        policyVersion: state.policyVersion,
        scopes: [...state.scopes],
        grantedAt: iso(state.grantedAt),
        ...(state.expiresAt === undefined ? {} : { expiresAt: iso(state.expiresAt) }),
      };
    case 'withdrawn':
      return {
        status: 'withdrawn',
        policyVersion: state.policyVersion,
        withdrawnAt: iso(state.withdrawnAt),
      };
    case 'expired':
      return {
        status: 'expired',
        policyVersion: state.policyVersion,
        expiredAt: iso(state.expiredAt),
      };
  }
}

/**
 * Converts a received snapshot back to a consent state for the machine and
 * `canCollect`. Parse the snapshot with {@link consentSnapshotSchema} first.
 *
 * @param snapshot - a validated snapshot.
 * @returns the equivalent state.
 */
export function fromConsentSnapshot(snapshot: ConsentSnapshot): ConsentState {
  const ms = (iso: string) => Date.parse(iso);
  switch (snapshot.status) {
    case 'unknown':
      return { status: 'unknown' };
    case 'pending':
      return { status: 'pending', policyVersion: snapshot.policyVersion };
    case 'granted':
      return {
        status: 'granted',
        policyVersion: snapshot.policyVersion,
        scopes: [...new Set(snapshot.scopes)].sort(),
        grantedAt: ms(snapshot.grantedAt),
        ...(snapshot.expiresAt === undefined ? {} : { expiresAt: ms(snapshot.expiresAt) }),
      };
    case 'withdrawn':
      return {
        status: 'withdrawn',
        policyVersion: snapshot.policyVersion,
        withdrawnAt: ms(snapshot.withdrawnAt),
      };
    case 'expired':
      return {
        status: 'expired',
        policyVersion: snapshot.policyVersion,
        expiredAt: ms(snapshot.expiredAt),
      };
  }
}
