import { z } from 'zod';
import { SCOPE_PATTERN } from '../schema/envelope.js';

/**
 * RFC 3339 timestamp with an offset (`Z` or `±hh:mm`), years 0001–9999 (year
 * 0000 exists in no calendar a database stores).
 */
export const timestampSchema = z.iso
  .datetime({ offset: true })
  .refine((value) => !value.startsWith('0000'), 'year 0000 is not a valid date');

/**
 * A 32-byte key on the wire: unpadded base64url, 43 characters. The last
 * character carries 2 spare bits, so only those whose spare bits are zero are
 * accepted: each key has exactly one spelling.
 */
export const publicKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/, 'must be 32 bytes as unpadded base64url');

/** Identifiers minted by the server (devices, commands, reports…). */
export const idSchema = z.string().min(1).max(128);

/** A consent scope name. */
export const scopeSchema = z.string().regex(SCOPE_PATTERN, 'must be a lowercase scope name');

/** The tenant an object belongs to. */
export const tenantSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase tenant slug');

/** A device's (or the server's) public keys: Ed25519 for signatures, X25519 for sealing. */
export const publicKeysSchema = z.strictObject({
  signingPublicKey: publicKeySchema,
  encryptionPublicKey: publicKeySchema,
});

/** A device's (or the server's) public keys. */
export type PublicKeys = z.infer<typeof publicKeysSchema>;

/**
 * A sealed message on the wire: the binary frame of docs/protocol.md,
 * unpadded base64url.
 */
export const sealedBodySchema = z.strictObject({
  sealed: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be unpadded base64url'),
});

/** A sealed message on the wire. */
export type SealedBody = z.infer<typeof sealedBodySchema>;
