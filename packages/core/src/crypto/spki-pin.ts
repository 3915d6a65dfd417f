import { createHash } from 'node:crypto';

/** A pin's text form: `sha256/` and the standard base64 of a SHA-256 digest (44 characters). */
const SPKI_PIN = /^sha256\/[A-Za-z0-9+/]{43}=$/;

/**
 * The pin of a public key in the HPKP form (RFC 7469): `sha256/` followed by the base64 SHA-256
 * of the DER-encoded SubjectPublicKeyInfo. A pin names a key, not a certificate, so it survives
 * certificate renewals that keep the key.
 *
 * @param spkiDer - the DER SubjectPublicKeyInfo (Node's `peerCertificate.pubkey`, or
 *   `X509Certificate#publicKey.export({ type: 'spki', format: 'der' })`).
 * @returns the pin, e.g. `sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=`.
 * @example
 * ```ts
 * const pin = spkiPinOf(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }));
 * ```
 */
export function spkiPinOf(spkiDer: Uint8Array): string {
  return `sha256/${createHash('sha256').update(spkiDer).digest('base64')}`;
}

/**
 * Whether a text is a well-formed SPKI pin (`sha256/<base64 of 32 bytes>`).
 *
 * @param text - the candidate.
 * @returns true when it has the form {@link spkiPinOf} produces.
 * @example
 * ```ts
 * isSpkiPin('sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='); // true
 * ```
 */
export function isSpkiPin(text: string): boolean {
  return SPKI_PIN.test(text);
}
