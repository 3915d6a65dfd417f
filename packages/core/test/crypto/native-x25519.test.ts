import { DeserializeError, SerializeError } from '@hpke/core';
import { describe, expect, it } from 'vitest';
import { sealCipherSuite } from '../../src/crypto/cipher-suite.js';
import { rfc9180BaseChaCha as v } from './rfc9180-vectors.js';

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));
const bytes = (buffer: ArrayBuffer) => new Uint8Array(buffer);

describe('native X25519 (the suite KEM primitives)', () => {
  const kem = sealCipherSuite().kem;

  it('round-trips the published raw keys and derives the public half of the private one', async () => {
    const privateKey = await kem.deserializePrivateKey(hex(v.skRm));
    expect(bytes(await kem.serializePrivateKey(privateKey))).toEqual(hex(v.skRm));
    const publicKey = await kem.deserializePublicKey(hex(v.pkRm));
    expect(bytes(await kem.serializePublicKey(publicKey))).toEqual(hex(v.pkRm));
  });

  it('imports a JWK pair and refuses a JWK of the wrong kind', async () => {
    const x = Buffer.from(hex(v.pkRm)).toString('base64url');
    const d = Buffer.from(hex(v.skRm)).toString('base64url');
    const publicKey = await kem.importKey('jwk', { kty: 'OKP', crv: 'X25519', x }, true);
    expect(bytes(await kem.serializePublicKey(publicKey))).toEqual(hex(v.pkRm));
    const privateKey = await kem.importKey('jwk', { kty: 'OKP', crv: 'X25519', x, d }, false);
    expect(bytes(await kem.serializePrivateKey(privateKey))).toEqual(hex(v.skRm));
    await expect(kem.importKey('jwk', { kty: 'OKP', crv: 'X25519', x, d }, true)).rejects.toThrow(
      DeserializeError,
    );
    await expect(kem.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x }, true)).rejects.toThrow(
      DeserializeError,
    );
  });

  it('refuses keys of the wrong length and a public key passed as private', async () => {
    await expect(kem.deserializePublicKey(new Uint8Array(31))).rejects.toThrow(DeserializeError);
    await expect(kem.deserializePrivateKey(new Uint8Array(33))).rejects.toThrow(DeserializeError);
    const publicKey = await kem.deserializePublicKey(hex(v.pkRm));
    await expect(kem.serializePrivateKey(publicKey)).rejects.toThrow(SerializeError);
  });

  it('refuses to seal to a small-order public key (an all-zero shared secret)', async () => {
    const smallOrder = await kem.deserializePublicKey(new Uint8Array(32));
    await expect(
      sealCipherSuite().createSenderContext({ recipientPublicKey: smallOrder }),
    ).rejects.toThrow();
  });

  it('generates a fresh pair whose halves agree', async () => {
    const pair = await kem.generateKeyPair();
    const derived = await kem.deserializePublicKey(await kem.serializePublicKey(pair.publicKey));
    expect(bytes(await kem.serializePublicKey(derived))).toEqual(
      bytes(await kem.serializePublicKey(pair.publicKey)),
    );
    const other = await kem.generateKeyPair();
    expect(bytes(await kem.serializePrivateKey(pair.privateKey))).not.toEqual(
      bytes(await kem.serializePrivateKey(other.privateKey)),
    );
  });
});
