import { createHmac } from 'node:crypto';
import { HkdfSha256 } from '@hpke/core';
import { arrayBufferOf, type BytesLike, bytesOf } from './bytes-like.js';

const HASH_BYTES = 32;

/**
 * HKDF-SHA256 (RFC 5869) for the HPKE key schedule, computed with
 * node:crypto's synchronous HMAC instead of WebCrypto. The labeled
 * construction of RFC 9180 stays @hpke/core's (this class only replaces the
 * extract and expand primitives); each WebCrypto call is an async round trip
 * through the thread pool, and the key schedule makes about ten of them per
 * message, which dominated the cost of sealing a small batch.
 *
 * Checked against the RFC 9180 A.2 test vectors with the rest of the suite.
 * @internal
 */
export class NativeHkdfSha256 extends HkdfSha256 {
  override async extract(salt: BytesLike, ikm: BytesLike): Promise<ArrayBuffer> {
    const saltBytes = bytesOf(salt);
    // RFC 5869: an absent salt is HashLen zero bytes.
    const key = saltBytes.byteLength === 0 ? new Uint8Array(HASH_BYTES) : saltBytes;
    return arrayBufferOf(createHmac('sha256', key).update(bytesOf(ikm)).digest());
  }

  override async expand(prk: BytesLike, info: BytesLike, length: number): Promise<ArrayBuffer> {
    if (length > 255 * HASH_BYTES)
      throw new RangeError('HKDF-Expand length exceeds 255 × HashLen.');
    const key = bytesOf(prk);
    const infoBytes = bytesOf(info);
    const out = new Uint8Array(length);
    let previous = new Uint8Array(0);
    for (let counter = 1, offset = 0; offset < length; counter++) {
      previous = new Uint8Array(
        createHmac('sha256', key)
          .update(previous)
          .update(infoBytes)
          .update(Uint8Array.of(counter))
          .digest(),
      );
      out.set(previous.subarray(0, Math.min(HASH_BYTES, length - offset)), offset);
      offset += HASH_BYTES;
    }
    return out.buffer;
  }

  override async extractAndExpand(
    salt: BytesLike,
    ikm: BytesLike,
    info: BytesLike,
    length: number,
  ): Promise<ArrayBuffer> {
    // Two HMACs: node's hkdfSync builds a KeyObject per call and cost ~10× as much here.
    return this.expand(await this.extract(salt, ikm), info, length);
  }
}
