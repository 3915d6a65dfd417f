import { DhkemX25519HkdfSha256, KemId } from '@hpke/core';
import { NativeHkdfSha256 } from './native-hkdf-sha256.js';
import { NativeX25519 } from './native-x25519.js';

// RFC 9180 §4.1: the KEM's labeled HKDF uses suite_id = "KEM" || I2OSP(kem_id, 2).
const KEM_SUITE_ID = Uint8Array.of(
  0x4b,
  0x45,
  0x4d,
  KemId.DhkemX25519HkdfSha256 >> 8,
  KemId.DhkemX25519HkdfSha256 & 0xff,
);

/**
 * @hpke/core's DHKEM(X25519, HKDF-SHA256) with its primitives on synchronous node:crypto:
 * the X25519 key generation and DH of {@link NativeX25519}, and the ExtractAndExpand of
 * {@link NativeHkdfSha256}. The KEM's construction (labels, kem_context, encap/decap) stays
 * the library's; `_prim` and `_kdf` are the protected extension points @hpke/common's Dhkem
 * offers subclasses.
 *
 * Checked against the RFC 9180 A.2 test vectors (the derived key pairs, enc and every
 * ciphertext depend on what these compute).
 * @internal
 */
export class NativeDhkemX25519HkdfSha256 extends DhkemX25519HkdfSha256 {
  constructor() {
    super();
    const kdf = new NativeHkdfSha256();
    kdf.init(KEM_SUITE_ID);
    this._kdf = kdf;
    this._prim = new NativeX25519(kdf);
  }
}
