import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  type webcrypto,
} from 'node:crypto';
import {
  DeriveKeyPairError,
  DeserializeError,
  type KdfInterface,
  NotSupportedError,
  SerializeError,
} from '@hpke/core';
import { arrayBufferOf, type BytesLike, bytesOf } from './bytes-like.js';
import { okpPrivateKey, okpPublicKey, rawOkpKey } from './okp-keys.js';

const KEY_BYTES = 32;
// RFC 9180 §7.1.3 DeriveKeyPair labels.
const LABEL_DKP_PRK = new TextEncoder().encode('dkp_prk');
const LABEL_SK = new TextEncoder().encode('sk');

// Keys are node:crypto KeyObjects. @hpke/core treats them as opaque CryptoKeys: it only
// passes them back to this class, so the cast never reaches WebCrypto.
const asCryptoKey = (key: KeyObject): webcrypto.CryptoKey => key as unknown as webcrypto.CryptoKey;
const asKeyObject = (key: webcrypto.CryptoKey): KeyObject => key as unknown as KeyObject;

function importRaw(raw: Uint8Array, isPublic: boolean): KeyObject {
  if (raw.byteLength !== KEY_BYTES) {
    throw new Error(`An X25519 ${isPublic ? 'public' : 'private'} key is ${KEY_BYTES} bytes.`);
  }
  return isPublic ? okpPublicKey('X25519', raw) : okpPrivateKey('X25519', raw);
}

function exportRaw(key: KeyObject): ArrayBuffer {
  if (key.asymmetricKeyType !== 'x25519') throw new Error('Not an X25519 key.');
  return arrayBufferOf(rawOkpKey(key));
}

/** Runs `operation`, rethrowing any failure as the @hpke/core error type its interface names. */
function failingAs<T>(ErrorType: new (cause: unknown) => Error, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    throw new ErrorType(error);
  }
}

/**
 * The X25519 operations of DHKEM(X25519, HKDF-SHA256) on node:crypto's synchronous API
 * (`generateKeyPairSync`, `diffieHellman`) instead of WebCrypto. Each WebCrypto key
 * generation and derivation is a job on libuv's thread pool, so every seal waited twice for
 * a pool shared with file I/O: under a spool's fsyncs that wait, not the math, was most of
 * the cost of sealing. The math is OpenSSL's either way.
 *
 * Implements @hpke/core's `DhkemPrimitives`; checked by the RFC 9180 A.2.1 vectors (key
 * derivation, encapsulation and the sealed messages) with the rest of the suite.
 * @internal
 */
export class NativeX25519 {
  readonly #kdf: KdfInterface;

  /** @param kdf - the KEM's labeled HKDF, used by `deriveKeyPair`. */
  constructor(kdf: KdfInterface) {
    this.#kdf = kdf;
  }

  async serializePublicKey(key: webcrypto.CryptoKey): Promise<ArrayBuffer> {
    return failingAs(SerializeError, () => exportRaw(asKeyObject(key)));
  }

  async deserializePublicKey(key: BytesLike): Promise<webcrypto.CryptoKey> {
    return failingAs(DeserializeError, () => asCryptoKey(importRaw(bytesOf(key), true)));
  }

  async serializePrivateKey(key: webcrypto.CryptoKey): Promise<ArrayBuffer> {
    return failingAs(SerializeError, () => {
      if (asKeyObject(key).type !== 'private') throw new Error('Not a private key.');
      return exportRaw(asKeyObject(key));
    });
  }

  async deserializePrivateKey(key: BytesLike): Promise<webcrypto.CryptoKey> {
    return failingAs(DeserializeError, () => asCryptoKey(importRaw(bytesOf(key), false)));
  }

  async importKey(
    format: 'raw' | 'jwk',
    key: ArrayBuffer | webcrypto.JsonWebKey,
    isPublic: boolean,
  ): Promise<webcrypto.CryptoKey> {
    try {
      if (format === 'raw') {
        if (!(key instanceof ArrayBuffer)) throw new Error('A raw key is an ArrayBuffer.');
        return asCryptoKey(importRaw(new Uint8Array(key), isPublic));
      }
      if (key instanceof ArrayBuffer) throw new Error('A JWK is an object.');
      if (key.kty !== 'OKP' || key.crv !== 'X25519') throw new Error('Not an X25519 JWK.');
      if (isPublic && key.d !== undefined) throw new Error('A public JWK has no `d`.');
      if (!isPublic && key.d === undefined) throw new Error('A private JWK needs `d`.');
      const jwk = { ...key } as JsonWebKey;
      return asCryptoKey(
        isPublic
          ? createPublicKey({ key: jwk, format: 'jwk' })
          : createPrivateKey({ key: jwk, format: 'jwk' }),
      );
    } catch (error) {
      throw new DeserializeError(error);
    }
  }

  async generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
    return failingAs(NotSupportedError, () => {
      const { privateKey, publicKey } = generateKeyPairSync('x25519');
      return { privateKey: asCryptoKey(privateKey), publicKey: asCryptoKey(publicKey) };
    });
  }

  async deriveKeyPair(ikm: BytesLike): Promise<webcrypto.CryptoKeyPair> {
    try {
      const prk = await this.#kdf.labeledExtract(new ArrayBuffer(0), LABEL_DKP_PRK, bytesOf(ikm));
      const secret = new Uint8Array(
        await this.#kdf.labeledExpand(prk, LABEL_SK, new Uint8Array(0), KEY_BYTES),
      );
      const privateKey = importRaw(secret, false);
      secret.fill(0);
      return {
        privateKey: asCryptoKey(privateKey),
        publicKey: asCryptoKey(createPublicKey(privateKey)),
      };
    } catch (error) {
      throw new DeriveKeyPairError(error);
    }
  }

  async derivePublicKey(key: webcrypto.CryptoKey): Promise<webcrypto.CryptoKey> {
    return failingAs(DeserializeError, () => asCryptoKey(createPublicKey(asKeyObject(key))));
  }

  async dh(sk: webcrypto.CryptoKey, pk: webcrypto.CryptoKey): Promise<ArrayBuffer> {
    // OpenSSL refuses an all-zero shared secret (a small-order public key), as RFC 9180 §7.1.4
    // asks.
    return failingAs(SerializeError, () =>
      arrayBufferOf(diffieHellman({ privateKey: asKeyObject(sk), publicKey: asKeyObject(pk) })),
    );
  }
}
