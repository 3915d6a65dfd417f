import {
  createHash,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { type PublicKeys, publicKeySchema, publicKeysSchema } from '../protocol/common.js';
import { err, ok, type Result } from '../result.js';
import { decodeBase64Url, encodeBase64Url } from './base64url.js';
import { KeyFormatError } from './crypto-errors.js';
import { okpPrivateKey, okpPublicKey, rawOkpKey } from './okp-keys.js';

/** Length in bytes of every raw key in an {@link Identity}. */
export const KEY_BYTES = 32;
/** Length in bytes of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** Length in bytes of a {@link keyId}. */
export const KEY_ID_BYTES = 8;

/**
 * A device's or server's long-term keys: Ed25519 to sign, X25519 to receive sealed messages.
 * All keys are raw 32-byte strings (RFC 8032 seed and public key; RFC 7748 scalar and
 * u-coordinate), the same bytes HPKE and other languages' libraries use.
 *
 * Treat it as immutable: keys derived from it are cached per object.
 */
export interface Identity {
  /** Ed25519 public key (32 bytes). */
  readonly signingPublicKey: Uint8Array;
  /** Ed25519 private key seed (32 bytes). Secret. */
  readonly signingPrivateKey: Uint8Array;
  /** X25519 public key (32 bytes); messages are sealed to it. */
  readonly encryptionPublicKey: Uint8Array;
  /** X25519 private key (32 bytes). Secret. */
  readonly encryptionPrivateKey: Uint8Array;
}

/**
 * The JSON-safe form of an {@link Identity} that an agent or server stores on disk.
 * Every key is unpadded base64url. It holds private keys: store it with owner-only permissions.
 */
export interface ExportedIdentity {
  /** Format version of this object; only `1` exists. */
  readonly version: 1;
  /** Ed25519 public key, base64url. */
  readonly signingPublicKey: string;
  /** Ed25519 private key seed, base64url. Secret. */
  readonly signingPrivateKey: string;
  /** X25519 public key, base64url. */
  readonly encryptionPublicKey: string;
  /** X25519 private key, base64url. Secret. */
  readonly encryptionPrivateKey: string;
}

/** {@link PublicKeys} decoded to raw bytes by {@link parsePublicKeys}. */
export interface ParsedPublicKeys {
  /** Ed25519 public key (32 bytes). */
  readonly signingPublicKey: Uint8Array;
  /** X25519 public key (32 bytes). */
  readonly encryptionPublicKey: Uint8Array;
}

// Private keys share the public keys' canonical 43-character spelling.
const rawKeyText = publicKeySchema;

/** Zod schema of {@link ExportedIdentity}; unknown keys are rejected. */
export const exportedIdentitySchema = z.strictObject({
  version: z.literal(1),
  signingPublicKey: rawKeyText,
  signingPrivateKey: rawKeyText,
  encryptionPublicKey: rawKeyText,
  encryptionPrivateKey: rawKeyText,
});

function rawPublicOf(privateKey: KeyObject): Uint8Array {
  return rawOkpKey(createPublicKey(privateKey));
}

function rawPairOf(pair: { publicKey: KeyObject; privateKey: KeyObject }): {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
} {
  return { publicKey: rawOkpKey(pair.publicKey), privateKey: rawOkpKey(pair.privateKey) };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Generates a new identity from the platform CSPRNG (key generation deliberately does not go
 * through the injectable `Random`).
 *
 * @returns a fresh Ed25519 + X25519 identity.
 * @example
 * ```ts
 * const identity = await generateIdentity();
 * await writeFile(path, JSON.stringify(exportIdentity(identity)), { mode: 0o600 });
 * ```
 */
export async function generateIdentity(): Promise<Identity> {
  const [signing, encryption] = await Promise.all([
    generateKeyPairAsync('ed25519'),
    generateKeyPairAsync('x25519'),
  ]);
  const signingRaw = rawPairOf(signing);
  const encryptionRaw = rawPairOf(encryption);
  return Object.freeze({
    signingPublicKey: signingRaw.publicKey,
    signingPrivateKey: signingRaw.privateKey,
    encryptionPublicKey: encryptionRaw.publicKey,
    encryptionPrivateKey: encryptionRaw.privateKey,
  });
}

/**
 * Builds an identity from raw private keys, deriving the public halves. Useful for fixed test
 * keys and for keys held in a platform key store.
 *
 * @param signingPrivateKey - Ed25519 seed (32 bytes).
 * @param encryptionPrivateKey - X25519 private key (32 bytes).
 * @returns the identity.
 * @throws {@link InvalidArgumentError} when a key is not 32 bytes.
 * @example
 * ```ts
 * const identity = identityFromPrivateKeys(seed, x25519PrivateKey);
 * ```
 */
export function identityFromPrivateKeys(
  signingPrivateKey: Uint8Array,
  encryptionPrivateKey: Uint8Array,
): Identity {
  if (signingPrivateKey.byteLength !== KEY_BYTES || encryptionPrivateKey.byteLength !== KEY_BYTES) {
    throw new InvalidArgumentError(`Private keys must be ${KEY_BYTES} bytes each.`);
  }
  const encryptionKey = okpPrivateKey('X25519', encryptionPrivateKey);
  return Object.freeze({
    signingPublicKey: new Uint8Array(rawPublicOf(okpPrivateKey('Ed25519', signingPrivateKey))),
    signingPrivateKey: new Uint8Array(signingPrivateKey),
    encryptionPublicKey: new Uint8Array(rawPublicOf(encryptionKey)),
    encryptionPrivateKey: new Uint8Array(encryptionPrivateKey),
  });
}

/**
 * Converts an identity to its JSON-safe stored form.
 *
 * @param identity - the identity to store.
 * @returns an object of base64url strings, ready for `JSON.stringify`. Contains private keys.
 * @example
 * ```ts
 * const text = JSON.stringify(exportIdentity(identity));
 * ```
 */
export function exportIdentity(identity: Identity): ExportedIdentity {
  return {
    version: 1,
    signingPublicKey: encodeBase64Url(identity.signingPublicKey),
    signingPrivateKey: encodeBase64Url(identity.signingPrivateKey),
    encryptionPublicKey: encodeBase64Url(identity.encryptionPublicKey),
    encryptionPrivateKey: encodeBase64Url(identity.encryptionPrivateKey),
  };
}

/**
 * Parses a stored identity. Besides the schema, it checks that each public key belongs to its
 * private key, so a file with mixed-up or hand-edited keys is refused rather than producing
 * frames nobody can verify or messages nobody can open.
 *
 * @param input - untrusted data, typically `JSON.parse` of the identity file.
 * @returns the identity, or a `KeyFormatError` with code `invalid_identity`.
 * @example
 * ```ts
 * const imported = importIdentity(JSON.parse(await readFile(path, 'utf8')));
 * if (!imported.ok) throw imported.error;
 * ```
 */
export function importIdentity(input: unknown): Result<Identity, KeyFormatError> {
  const parsed = exportedIdentitySchema.safeParse(input);
  if (!parsed.success) {
    return err(
      new KeyFormatError('invalid_identity', 'The stored identity does not match its schema.', {
        issues: parsed.error.issues.map((issue) => ({
          path: issue.path.join('.'),
          message: issue.message,
        })),
      }),
    );
  }
  const raw = {
    signingPublicKey: decodeKey(parsed.data.signingPublicKey),
    signingPrivateKey: decodeKey(parsed.data.signingPrivateKey),
    encryptionPublicKey: decodeKey(parsed.data.encryptionPublicKey),
    encryptionPrivateKey: decodeKey(parsed.data.encryptionPrivateKey),
  };
  const derived = identityFromPrivateKeys(raw.signingPrivateKey, raw.encryptionPrivateKey);
  if (!bytesEqual(derived.signingPublicKey, raw.signingPublicKey)) {
    return err(
      new KeyFormatError(
        'invalid_identity',
        'The stored signing public key does not belong to the signing private key.',
        { field: 'signingPublicKey' },
      ),
    );
  }
  if (!bytesEqual(derived.encryptionPublicKey, raw.encryptionPublicKey)) {
    return err(
      new KeyFormatError(
        'invalid_identity',
        'The stored encryption public key does not belong to the encryption private key.',
        { field: 'encryptionPublicKey' },
      ),
    );
  }
  return ok(derived);
}

function decodeKey(text: string): Uint8Array {
  // The schema's regex admits only canonical 43-character keys, so decoding cannot fail here.
  const decoded = decodeBase64Url(text);
  if (!decoded.ok || decoded.value.byteLength !== KEY_BYTES) {
    throw new Error('unreachable: schema admitted a malformed key');
  }
  return decoded.value;
}

/**
 * The wire form of an identity's public keys, sent at enrollment and pinned by the peer.
 *
 * @param identity - the identity whose public half to publish.
 * @returns both public keys as base64url.
 * @example
 * ```ts
 * await fetch(url, { method: 'POST', body: JSON.stringify({ keys: publicKeysOf(identity) }) });
 * ```
 */
export function publicKeysOf(identity: Identity): PublicKeys {
  return {
    signingPublicKey: encodeBase64Url(identity.signingPublicKey),
    encryptionPublicKey: encodeBase64Url(identity.encryptionPublicKey),
  };
}

/**
 * Parses the wire form produced by {@link publicKeysOf}.
 *
 * @param input - untrusted data, such as an enrollment request body's `keys` field.
 * @returns the raw 32-byte keys, or a `KeyFormatError` with code `invalid_public_key`.
 * @example
 * ```ts
 * const keys = parsePublicKeys(body.keys);
 * if (!keys.ok) return reply(400, keys.error.toJSON());
 * ```
 */
export function parsePublicKeys(input: unknown): Result<ParsedPublicKeys, KeyFormatError> {
  const parsed = publicKeysSchema.safeParse(input);
  if (!parsed.success) {
    return err(
      new KeyFormatError('invalid_public_key', 'Public keys do not match their wire form.', {
        issues: parsed.error.issues.map((issue) => ({
          path: issue.path.join('.'),
          message: issue.message,
        })),
      }),
    );
  }
  return ok({
    signingPublicKey: decodeKey(parsed.data.signingPublicKey),
    encryptionPublicKey: decodeKey(parsed.data.encryptionPublicKey),
  });
}

/**
 * The key id that names an X25519 public key in a sealed frame: the first 8 bytes of its
 * SHA-256. It lets a recipient holding several keys (or a server after key rotation) pick the
 * right one, and refuse frames meant for someone else before doing any expensive work.
 *
 * @param publicKey - an X25519 public key (32 bytes).
 * @returns the 8-byte key id.
 * @throws {@link InvalidArgumentError} when the key is not 32 bytes.
 * @example
 * ```ts
 * const id = keyId(identity.encryptionPublicKey);
 * ```
 */
export function keyId(publicKey: Uint8Array): Uint8Array {
  if (publicKey.byteLength !== KEY_BYTES) {
    throw new InvalidArgumentError(`A public key must be ${KEY_BYTES} bytes.`);
  }
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, KEY_ID_BYTES));
}

// Private key import parses DER; caching per identity keeps it off the per-message path.
const signingKeyCache = new WeakMap<Identity, KeyObject>();

/**
 * Signs bytes with the identity's Ed25519 key (pure Ed25519, RFC 8032). Callers must prefix
 * their own domain-separation string so a signature made for one purpose (a sealed frame, a
 * WebSocket hello, a consent receipt) can never be replayed as another.
 *
 * @param bytes - the exact bytes to sign.
 * @param identity - the signer.
 * @returns the 64-byte signature.
 * @throws {@link InvalidArgumentError} when the identity's signing key is not 32 bytes.
 * @example
 * ```ts
 * const signature = sign(new TextEncoder().encode('fieldline/v1 hello\n' + canonical), identity);
 * ```
 */
export function sign(bytes: Uint8Array, identity: Identity): Uint8Array {
  let key = signingKeyCache.get(identity);
  if (key === undefined) {
    if (identity.signingPrivateKey.byteLength !== KEY_BYTES) {
      throw new InvalidArgumentError(`The signing private key must be ${KEY_BYTES} bytes.`);
    }
    key = okpPrivateKey('Ed25519', identity.signingPrivateKey);
    signingKeyCache.set(identity, key);
  }
  return new Uint8Array(nodeSign(null, bytes, key));
}

/**
 * Verifies an Ed25519 signature. Never throws: any malformed key or signature is just `false`.
 *
 * @param bytes - the bytes that were signed.
 * @param signature - the 64-byte signature.
 * @param signingPublicKey - the signer's Ed25519 public key, raw (32 bytes) or base64url.
 * @returns true only if the signature is valid for these bytes and this key.
 * @example
 * ```ts
 * if (!verify(helloBytes, signature, device.signingPublicKey)) return reply(401);
 * ```
 */
export function verify(
  bytes: Uint8Array,
  signature: Uint8Array,
  signingPublicKey: Uint8Array | string,
): boolean {
  let publicKey: Uint8Array;
  if (typeof signingPublicKey === 'string') {
    const decoded = decodeBase64Url(signingPublicKey);
    if (!decoded.ok) return false;
    publicKey = decoded.value;
  } else {
    publicKey = signingPublicKey;
  }
  if (publicKey.byteLength !== KEY_BYTES || signature.byteLength !== SIGNATURE_BYTES) return false;
  try {
    return nodeVerify(null, bytes, okpPublicKey('Ed25519', publicKey), signature);
  } catch {
    return false;
  }
}
