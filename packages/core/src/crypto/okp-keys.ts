import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** The two RFC 8037 curves Fieldline uses. @internal */
export type OkpCurve = 'Ed25519' | 'X25519';

// RFC 8410 DER prefixes that turn 32 raw private key bytes into PKCS#8: node:crypto imports a
// JWK private key only with its public half, so raw private keys go through DER.
const PKCS8_PREFIX: Record<OkpCurve, Buffer> = {
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
};

/**
 * A public KeyObject from 32 raw bytes. It goes through JWK, not DER: OpenSSL 3's DER decoder
 * costs ~65 µs a key and the raw-key path behind JWK ~5 µs, which a connect storm of thousands
 * of handshakes (one signature check and one key agreement each) feels.
 *
 * @throws when the bytes are not a key of that curve (node:crypto's own error).
 * @internal
 */
export function okpPublicKey(curve: OkpCurve, raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: curve, x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/**
 * A private KeyObject from 32 raw bytes (an Ed25519 seed or an X25519 scalar). Private keys
 * are imported once per identity and cached by callers, so DER's cost does not matter here.
 *
 * @throws when the bytes are not a key of that curve (node:crypto's own error).
 * @internal
 */
export function okpPrivateKey(curve: OkpCurve, raw: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX[curve], raw]),
    format: 'der',
    type: 'pkcs8',
  });
}

/**
 * The 32 raw bytes of an OKP key: its public key, or for a private key its seed or scalar.
 * Exported as JWK for the same reason {@link okpPublicKey} imports one: DER encoding costs
 * ~55 µs, the raw accessor behind JWK ~1 µs.
 *
 * @internal
 */
export function rawOkpKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const text = key.type === 'private' ? jwk.d : jwk.x;
  return new Uint8Array(Buffer.from(text ?? '', 'base64url'));
}
