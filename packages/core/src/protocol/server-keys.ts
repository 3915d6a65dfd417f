import { z } from 'zod';
import { decodeBase64Url, encodeBase64Url } from '../crypto/base64url.js';
import { type Identity, publicKeysOf, sign, verify } from '../crypto/identity.js';
import { type PublicKeys, publicKeySchema, publicKeysSchema, timestampSchema } from './common.js';

/** Domain separation: a server key rotation signature can never pass for anything else. */
export const SERVER_KEY_ROTATION_SIGNATURE_DOMAIN = 'fieldline/v1 server-key-rotation';

/**
 * One server key rotation (docs/protocol.md §5.5): the new public keys, signed by the
 * previous signing key, so an agent that pinned the previous keys can trust the new ones.
 * Until `previousNotAfter` the server still opens frames sealed to the previous key.
 */
export const serverKeyRotationSchema = z.strictObject({
  publicKeys: publicKeysSchema,
  previousSigningPublicKey: publicKeySchema,
  issuedAt: timestampSchema,
  previousNotAfter: timestampSchema,
  /** Ed25519 by the previous signing key over {@link serverKeyRotationSigningBytes}, base64url. */
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});

/** One server key rotation. */
export type ServerKeyRotation = z.infer<typeof serverKeyRotationSchema>;

/**
 * `GET /v1/server-keys` response: the server's current keys and the rotations that lead to
 * them, oldest first, so an agent can walk from the keys it pinned to the current ones.
 */
export const serverKeysResponseSchema = z.strictObject({
  current: publicKeysSchema,
  rotations: z.array(serverKeyRotationSchema).max(64),
});

/** `GET /v1/server-keys` response. */
export type ServerKeysResponse = z.infer<typeof serverKeysResponseSchema>;

const encoder = new TextEncoder();

/**
 * The bytes the previous signing key signs in a rotation: the UTF-8 encoding of the domain,
 * the new signing key, the new encryption key, the previous signing key, `issuedAt` and
 * `previousNotAfter`, newline-separated.
 *
 * @param rotation - the rotation without its signature.
 * @returns the bytes to sign or verify.
 */
export function serverKeyRotationSigningBytes(
  rotation: Omit<ServerKeyRotation, 'signature'>,
): Uint8Array {
  return encoder.encode(
    [
      SERVER_KEY_ROTATION_SIGNATURE_DOMAIN,
      rotation.publicKeys.signingPublicKey,
      rotation.publicKeys.encryptionPublicKey,
      rotation.previousSigningPublicKey,
      rotation.issuedAt,
      rotation.previousNotAfter,
    ].join('\n'),
  );
}

/**
 * Signs a server key rotation with the previous identity.
 *
 * @param previous - the identity being replaced.
 * @param next - the new public keys.
 * @param times - when the rotation is issued and until when the previous key stays accepted.
 * @returns the signed rotation.
 * @example
 * ```ts
 * const rotation = signServerKeyRotation(old, publicKeysOf(fresh), { issuedAt, previousNotAfter });
 * ```
 */
export function signServerKeyRotation(
  previous: Identity,
  next: PublicKeys,
  times: { readonly issuedAt: string; readonly previousNotAfter: string },
): ServerKeyRotation {
  const unsigned = {
    publicKeys: next,
    previousSigningPublicKey: publicKeysOf(previous).signingPublicKey,
    issuedAt: times.issuedAt,
    previousNotAfter: times.previousNotAfter,
  };
  return {
    ...unsigned,
    signature: encodeBase64Url(sign(serverKeyRotationSigningBytes(unsigned), previous)),
  };
}

/**
 * Walks the rotations from the keys an agent pinned to the server's current keys, checking
 * each signature with the key before it (docs/protocol.md §5.5).
 *
 * @param pinned - the keys the agent trusts.
 * @param response - a schema-valid `GET /v1/server-keys` answer (untrusted).
 * @returns the current keys when the chain from `pinned` verifies to them; `undefined` when it
 *   does not (then keep the pinned keys).
 */
export function verifyServerKeyChain(
  pinned: PublicKeys,
  response: ServerKeysResponse,
): PublicKeys | undefined {
  let trusted = pinned;
  for (const rotation of response.rotations) {
    if (rotation.previousSigningPublicKey !== trusted.signingPublicKey) continue;
    const signature = decodeBase64Url(rotation.signature);
    if (!signature.ok) return undefined;
    const { signature: _, ...unsigned } = rotation;
    if (
      !verify(serverKeyRotationSigningBytes(unsigned), signature.value, trusted.signingPublicKey)
    ) {
      return undefined;
    }
    trusted = rotation.publicKeys;
  }
  const same =
    trusted.signingPublicKey === response.current.signingPublicKey &&
    trusted.encryptionPublicKey === response.current.encryptionPublicKey;
  return same ? trusted : undefined;
}
