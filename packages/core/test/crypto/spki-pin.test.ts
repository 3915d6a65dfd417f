import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSpkiPin, spkiPinOf } from '../../src/crypto/spki-pin.js';

describe('SPKI pins', () => {
  it('are sha256/ and the standard base64 SHA-256 of the DER SubjectPublicKeyInfo', () => {
    // SHA-256 of no bytes, a digest anyone can check.
    expect(spkiPinOf(new Uint8Array())).toBe('sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    const pin = spkiPinOf(spki);
    expect(pin).toBe(`sha256/${createHash('sha256').update(spki).digest('base64')}`);
    expect(isSpkiPin(pin)).toBe(true);
  });

  it.each([
    'sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
    'sha256/47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=',
    'sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
    '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
    'sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= ',
    '',
  ])('refuses %j', (text) => {
    expect(isSpkiPin(text)).toBe(false);
  });
});
