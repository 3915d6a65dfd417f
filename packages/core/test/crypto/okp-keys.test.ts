import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { okpPrivateKey, okpPublicKey, rawOkpKey } from '../../src/crypto/okp-keys.js';
import { rfc8032Vectors } from './rfc8032-vectors.js';
import { rfc9180BaseChaCha as x25519 } from './rfc9180-vectors.js';

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));
const cases = [
  {
    curve: 'Ed25519',
    secret: rfc8032Vectors[0]?.secretKey ?? '',
    public: rfc8032Vectors[0]?.publicKey ?? '',
  },
  { curve: 'X25519', secret: x25519.skRm, public: x25519.pkRm },
] as const;

describe('raw OKP keys', () => {
  it.each(cases)('round-trips the published $curve keys and derives the public half', (keys) => {
    const privateKey = okpPrivateKey(keys.curve, hex(keys.secret));
    expect(privateKey.asymmetricKeyType).toBe(keys.curve.toLowerCase());
    expect(rawOkpKey(privateKey)).toEqual(hex(keys.secret));
    expect(rawOkpKey(createPublicKey(privateKey))).toEqual(hex(keys.public));
    const publicKey = okpPublicKey(keys.curve, hex(keys.public));
    expect(publicKey.type).toBe('public');
    expect(rawOkpKey(publicKey)).toEqual(hex(keys.public));
    // The same key DER would have produced: both encodings name one point.
    expect(publicKey.equals(createPublicKey(privateKey))).toBe(true);
  });

  it.each(cases)('refuses $curve keys of the wrong length', (keys) => {
    expect(() => okpPublicKey(keys.curve, new Uint8Array(31))).toThrow();
    expect(() => okpPublicKey(keys.curve, new Uint8Array(33))).toThrow();
    expect(() => okpPrivateKey(keys.curve, new Uint8Array(31))).toThrow();
  });
});
