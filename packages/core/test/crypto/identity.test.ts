import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeBase64Url,
  encodeBase64Url,
  exportIdentity,
  generateIdentity,
  identityFromPrivateKeys,
  importIdentity,
  isKeyFormatError,
  keyId,
  parsePublicKeys,
  publicKeysOf,
  sign,
  verify,
} from '../../src/crypto/index.js';
import { rfc8032Vectors } from './rfc8032-vectors.js';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('Ed25519 sign/verify against RFC 8032 section 7.1', () => {
  for (const vector of rfc8032Vectors) {
    it(vector.name, () => {
      const identity = identityFromPrivateKeys(hex(vector.secretKey), randomBytes(32));
      expect(toHex(identity.signingPublicKey)).toBe(vector.publicKey);
      const message = hex(vector.message);
      const signature = sign(message, identity);
      expect(toHex(signature)).toBe(vector.signature);
      expect(verify(message, hex(vector.signature), hex(vector.publicKey))).toBe(true);
      expect(verify(message, hex(vector.signature), encodeBase64Url(hex(vector.publicKey)))).toBe(
        true,
      );
      const tampered = hex(vector.signature);
      tampered[0]! ^= 1;
      expect(verify(message, tampered, hex(vector.publicKey))).toBe(false);
    });
  }

  it('uses SHA-512("abc") as the SHA(abc) message, as the RFC says', () => {
    const sha = createHash('sha512').update('abc').digest('hex');
    expect(rfc8032Vectors.find((vector) => vector.name.startsWith('TEST SHA'))?.message).toBe(sha);
  });

  it('returns false, never throws, on malformed keys and signatures', () => {
    const message = new Uint8Array([1, 2, 3]);
    expect(verify(message, new Uint8Array(64), new Uint8Array(31))).toBe(false);
    expect(verify(message, new Uint8Array(63), new Uint8Array(32))).toBe(false);
    expect(verify(message, new Uint8Array(64), 'not base64url!')).toBe(false);
    expect(verify(message, new Uint8Array(64), new Uint8Array(32).fill(0xff))).toBe(false);
  });
});

describe('identity', () => {
  it('generates distinct 32-byte keys whose public halves match the private ones', async () => {
    const a = await generateIdentity();
    const b = await generateIdentity();
    for (const key of Object.values(a)) expect(key).toHaveLength(32);
    expect(toHex(a.signingPrivateKey)).not.toBe(toHex(b.signingPrivateKey));
    const rebuilt = identityFromPrivateKeys(a.signingPrivateKey, a.encryptionPrivateKey);
    expect(toHex(rebuilt.signingPublicKey)).toBe(toHex(a.signingPublicKey));
    expect(toHex(rebuilt.encryptionPublicKey)).toBe(toHex(a.encryptionPublicKey));
  });

  it('round-trips through export, JSON and import', async () => {
    const identity = await generateIdentity();
    const stored = JSON.parse(JSON.stringify(exportIdentity(identity)));
    const imported = importIdentity(stored);
    expect(imported.ok).toBe(true);
    if (!imported.ok) return;
    expect(exportIdentity(imported.value)).toEqual(exportIdentity(identity));
  });

  it('refuses malformed stored identities with invalid_identity', async () => {
    const good = exportIdentity(await generateIdentity());
    const other = exportIdentity(await generateIdentity());
    const cases: unknown[] = [
      null,
      'identity',
      {},
      { ...good, version: 2 },
      { ...good, extra: true },
      { ...good, signingPrivateKey: good.signingPrivateKey.slice(1) },
      { ...good, signingPrivateKey: `${good.signingPrivateKey}=` },
      { ...good, encryptionPublicKey: good.encryptionPublicKey.replace(/.$/, '_') },
      { ...good, encryptionPrivateKey: 42 },
      // Well-formed, but the public key belongs to someone else.
      { ...good, signingPublicKey: other.signingPublicKey },
      { ...good, encryptionPublicKey: other.encryptionPublicKey },
    ];
    for (const input of cases) {
      const result = importIdentity(input);
      expect(result.ok, JSON.stringify(input)).toBe(false);
      if (result.ok) continue;
      expect(isKeyFormatError(result.error)).toBe(true);
      expect(result.error.code).toBe('invalid_identity');
      expect(JSON.stringify(result.error.toJSON())).not.toContain(good.signingPrivateKey);
    }
  });

  it('publishes and parses the wire form of public keys', async () => {
    const identity = await generateIdentity();
    const wire = publicKeysOf(identity);
    expect(wire.signingPublicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const parsed = parsePublicKeys(JSON.parse(JSON.stringify(wire)));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(toHex(parsed.value.signingPublicKey)).toBe(toHex(identity.signingPublicKey));
    expect(toHex(parsed.value.encryptionPublicKey)).toBe(toHex(identity.encryptionPublicKey));

    for (const bad of [undefined, { signingPublicKey: wire.signingPublicKey }, { ...wire, x: 1 }]) {
      const result = parsePublicKeys(bad);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('invalid_public_key');
    }
  });

  it('computes keyId as the first 8 bytes of SHA-256 of the X25519 public key', async () => {
    const identity = await generateIdentity();
    const digest = createHash('sha256').update(identity.encryptionPublicKey).digest();
    expect(toHex(keyId(identity.encryptionPublicKey))).toBe(digest.subarray(0, 8).toString('hex'));
    expect(() => keyId(new Uint8Array(31))).toThrow();
  });
});

describe('base64url', () => {
  it('round-trips and refuses non-canonical text', () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0x00, 0x10]);
    const text = encodeBase64Url(bytes);
    expect(text).toBe('-_8AEA');
    const back = decodeBase64Url(text);
    expect(back.ok && toHex(back.value)).toBe(toHex(bytes));
    for (const bad of ['-_8AEA==', '-_8AEB', '-_8A EA', '+/8AEA', 'A']) {
      const result = decodeBase64Url(bad);
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('invalid_encoding');
    }
    expect(decodeBase64Url('').ok).toBe(true);
  });
});
