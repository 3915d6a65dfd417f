import { CipherSuite } from '@hpke/core';
import { createNativeChacha20Poly1305 } from './native-chacha20-poly1305.js';
import { NativeDhkemX25519HkdfSha256 } from './native-dhkem-x25519.js';
import { NativeHkdfSha256 } from './native-hkdf-sha256.js';

let suite: CipherSuite | undefined;

/**
 * The one HPKE suite Fieldline v1 uses: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20-Poly1305 (RFC 9180 ids 0x0020 / 0x0001 / 0x0003), with the key schedule's HKDF
 * and the AEAD computed by node:crypto.
 *
 * @internal Exposed for the RFC 9180 test vectors; not part of the public API.
 * @returns the shared suite.
 */
export function sealCipherSuite(): CipherSuite {
  suite ??= new CipherSuite({
    kem: new NativeDhkemX25519HkdfSha256(),
    kdf: new NativeHkdfSha256(),
    aead: createNativeChacha20Poly1305(),
  });
  return suite;
}
