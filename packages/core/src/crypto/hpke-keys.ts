import type { webcrypto } from 'node:crypto';
import { sealCipherSuite } from './cipher-suite.js';
import type { Identity } from './identity.js';

// Importing a raw key into WebCrypto is an async round trip; a device seals to one server key
// and a server to a bounded set of devices, so a small cache removes it from the hot path.
const MAX_CACHED_PUBLIC_KEYS = 1024;
const publicKeyCache = new Map<string, Promise<webcrypto.CryptoKey>>();
const recipientKeyCache = new WeakMap<Identity, Promise<webcrypto.CryptoKeyPair>>();

/** The WebCrypto key of a raw X25519 public key, imported once. @internal */
export function recipientPublicCryptoKey(publicKey: Uint8Array): Promise<webcrypto.CryptoKey> {
  const cacheKey = Buffer.from(publicKey).toString('hex');
  const cached = publicKeyCache.get(cacheKey);
  if (cached !== undefined) {
    // Re-insert so the Map's insertion order doubles as least-recently-used order.
    publicKeyCache.delete(cacheKey);
    publicKeyCache.set(cacheKey, cached);
    return cached;
  }
  const imported = sealCipherSuite().kem.deserializePublicKey(publicKey);
  publicKeyCache.set(cacheKey, imported);
  imported.catch(() => publicKeyCache.delete(cacheKey));
  if (publicKeyCache.size > MAX_CACHED_PUBLIC_KEYS) {
    const oldest = publicKeyCache.keys().next();
    if (oldest.done !== true) publicKeyCache.delete(oldest.value);
  }
  return imported;
}

/** The WebCrypto key pair of an identity's X25519 keys, imported once. @internal */
export function recipientCryptoKeyPair(identity: Identity): Promise<webcrypto.CryptoKeyPair> {
  let pair = recipientKeyCache.get(identity);
  if (pair === undefined) {
    // Passing the public half too saves HPKE from re-deriving it (two more WebCrypto calls)
    // on every open.
    const kem = sealCipherSuite().kem;
    pair = Promise.all([
      kem.deserializePrivateKey(identity.encryptionPrivateKey),
      kem.deserializePublicKey(identity.encryptionPublicKey),
    ]).then(([privateKey, publicKey]) => ({ privateKey, publicKey }));
    recipientKeyCache.set(identity, pair);
    pair.catch(() => recipientKeyCache.delete(identity));
  }
  return pair;
}
