import { randomBytes } from 'node:crypto';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { AeadId } from '@hpke/core';
import { describe, expect, it } from 'vitest';
import { sealCipherSuite } from '../../src/crypto/cipher-suite.js';
import { createNativeChacha20Poly1305 } from '../../src/crypto/native-chacha20-poly1305.js';
import { rfc9180BaseChaCha as v } from './rfc9180-vectors.js';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: ArrayBuffer | Uint8Array): string =>
  Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');

describe('createNativeChacha20Poly1305', () => {
  it('declares the RFC 9180 ChaCha20Poly1305 parameters', () => {
    const aead = createNativeChacha20Poly1305();
    expect(aead.id).toBe(AeadId.Chacha20Poly1305);
    expect([aead.keySize, aead.nonceSize, aead.tagSize]).toEqual([32, 12, 16]);
  });

  it('reproduces the RFC 9180 A.2.1 ciphertexts from the published key and nonces', async () => {
    const context = createNativeChacha20Poly1305().createEncryptionContext(hex(v.key));
    for (const encryption of v.encryptions) {
      const ct = await context.seal(hex(encryption.nonce), hex(v.plaintext), hex(encryption.aad));
      expect(toHex(ct)).toBe(encryption.ct);
      const pt = await context.open(hex(encryption.nonce), hex(encryption.ct), hex(encryption.aad));
      expect(toHex(pt)).toBe(v.plaintext);
    }
  });

  it('refuses a tampered tag, ciphertext or aad', async () => {
    const context = createNativeChacha20Poly1305().createEncryptionContext(hex(v.key));
    const first = v.encryptions[0];
    const ct = hex(first.ct);
    const badTag = ct.slice();
    badTag[badTag.length - 1]! ^= 1;
    await expect(context.open(hex(first.nonce), badTag, hex(first.aad))).rejects.toThrow();
    const badBody = ct.slice();
    badBody[0]! ^= 1;
    await expect(context.open(hex(first.nonce), badBody, hex(first.aad))).rejects.toThrow();
    await expect(context.open(hex(first.nonce), ct, hex('00'))).rejects.toThrow();
    await expect(
      context.open(hex(first.nonce), ct.subarray(0, 15), hex(first.aad)),
    ).rejects.toThrow();
  });

  it('agrees with the pure-JS @hpke/chacha20poly1305 on random inputs', async () => {
    for (const size of [0, 1, 63, 64, 65, 4096, 250_003]) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = randomBytes(size % 97);
      const data = randomBytes(size);
      const native = createNativeChacha20Poly1305().createEncryptionContext(key);
      const reference = new Chacha20Poly1305().createEncryptionContext(key);
      const sealed = await native.seal(nonce, data, aad);
      expect(toHex(sealed)).toBe(toHex(await reference.seal(nonce, data, aad)));
      expect(toHex(await reference.open(nonce, sealed, aad))).toBe(toHex(data));
    }
  });

  it('accepts views at an offset into a larger buffer', async () => {
    const backing = new Uint8Array(100);
    backing.set(hex(v.key), 10);
    const context = createNativeChacha20Poly1305().createEncryptionContext(
      backing.subarray(10, 42),
    );
    const first = v.encryptions[0];
    const pt = hex(`ff${v.plaintext}ff`).subarray(1, -1);
    expect(toHex(await context.seal(hex(first.nonce), pt, hex(first.aad)))).toBe(first.ct);
  });

  it('rejects keys and nonces of the wrong length', async () => {
    const aead = createNativeChacha20Poly1305();
    expect(() => aead.createEncryptionContext(new Uint8Array(16))).toThrow(RangeError);
    const context = aead.createEncryptionContext(hex(v.key));
    await expect(
      context.seal(new Uint8Array(8), new Uint8Array(1), new Uint8Array(0)),
    ).rejects.toThrow(RangeError);
  });
});

describe('RFC 9180 A.2.1 through the Fieldline cipher suite (base mode)', () => {
  it('derives the published key pairs from ikmE and ikmR', async () => {
    const kem = sealCipherSuite().kem;
    const ephemeral = await kem.deriveKeyPair(hex(v.ikmE));
    expect(toHex(await kem.serializePublicKey(ephemeral.publicKey))).toBe(v.pkEm);
    expect(toHex(await kem.serializePrivateKey(ephemeral.privateKey))).toBe(v.skEm);
    const recipient = await kem.deriveKeyPair(hex(v.ikmR));
    expect(toHex(await kem.serializePublicKey(recipient.publicKey))).toBe(v.pkRm);
    expect(toHex(await kem.serializePrivateKey(recipient.privateKey))).toBe(v.skRm);
  });

  it('produces the published enc, ciphertexts and exports, and opens them', async () => {
    const suite = sealCipherSuite();
    const recipient = await suite.kem.deriveKeyPair(hex(v.ikmR));
    const sender = await suite.createSenderContext({
      recipientPublicKey: recipient.publicKey,
      info: hex(v.info),
      ekm: hex(v.ikmE),
    });
    expect(toHex(sender.enc)).toBe(v.enc);
    const receiver = await suite.createRecipientContext({
      recipientKey: recipient,
      enc: sender.enc,
      info: hex(v.info),
    });

    const bySeq = new Map<number, (typeof v.encryptions)[number]>(
      v.encryptions.map((encryption) => [encryption.seq, encryption]),
    );
    let checked = 0;
    for (let seq = 0; seq <= 256; seq += 1) {
      const expected = bySeq.get(seq);
      // Sequence numbers advance per message, so the ones between vectors are sealed too.
      const aad = expected === undefined ? new Uint8Array(0) : hex(expected.aad);
      const ct = await sender.seal(hex(v.plaintext), aad);
      if (expected !== undefined) {
        expect(toHex(ct), `sequence ${seq}`).toBe(expected.ct);
        checked += 1;
      }
      expect(toHex(await receiver.open(ct, aad))).toBe(v.plaintext);
    }
    expect(checked).toBe(v.encryptions.length);

    for (const exported of v.exports) {
      expect(toHex(await sender.export(hex(exported.context), exported.length))).toBe(
        exported.value,
      );
    }
  });
});
