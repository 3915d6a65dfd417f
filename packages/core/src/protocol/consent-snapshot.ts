import { z } from 'zod';
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
