import { DhkemX25519HkdfSha256, KemId } from '@hpke/core';
import { NativeHkdfSha256 } from './native-hkdf-sha256.js';

// RFC 9180 §4.1: the KEM's labeled HKDF uses suite_id = "KEM" || I2OSP(kem_id, 2).
const KEM_SUITE_ID = Uint8Array.of(
  0x4b,
  0x45,
  0x4d,
  KemId.DhkemX25519HkdfSha256 >> 8,
  KemId.DhkemX25519HkdfSha256 & 0xff,
);

/**
 * @hpke/core's DHKEM(X25519, HKDF-SHA256) with its ExtractAndExpand computed by
 * {@link NativeHkdfSha256}: the DH and the key serialization stay the
 * library's; only the two WebCrypto round trips of the shared-secret
 * derivation become synchronous node:crypto calls. `_kdf` is the protected
 * extension point @hpke/common's Dhkem offers subclasses.
 *
 * Checked against the RFC 9180 A.2 test vectors (enc and every ciphertext
 * depend on the shared secret this derives).
 * @internal
 */
export class NativeDhkemX25519HkdfSha256 extends DhkemX25519HkdfSha256 {
  constructor() {
    super();
    const kdf = new NativeHkdfSha256();
    kdf.init(KEM_SUITE_ID);
    this._kdf = kdf;
  }
}
