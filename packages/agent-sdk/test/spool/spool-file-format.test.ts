import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSpoolError } from '../../src/spool/spool-error.js';
import {
  decodeSpoolFile,
  encodeSpoolFile,
  parseSpoolFileHeader,
  SPOOL_HEADER_BYTES,
  SPOOL_MIN_FILE_BYTES,
} from '../../src/spool/spool-file-format.js';
import { testKey, text, utf8 } from './temp-dir.js';

const key = testKey(1);
const header = { kind: 'events', createdAtMs: 1_767_225_600_123, itemCount: 42 } as const;

describe('the spool file format', () => {
  it('uses ChaCha20-Poly1305 exactly as RFC 8439 §2.8.2 specifies', () => {
    // The AEAD test vector of RFC 8439, run through the same node:crypto primitive.
    const vectorKey = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x80 + i));
    const cipher = createCipheriv(
      'chacha20-poly1305',
      vectorKey,
      Buffer.from('070000004041424344454647', 'hex'),
      { authTagLength: 16 },
    );
    const plaintext = Buffer.from(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    cipher.setAAD(Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex'), {
      plaintextLength: plaintext.length,
    });
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    expect(ciphertext.subarray(0, 16).toString('hex')).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    expect(ciphertext.subarray(-2).toString('hex')).toBe('6116');
    expect(cipher.getAuthTag().toString('hex')).toBe('1ae10b594f09e26a7e902ecbd0600691');
  });

  it('lays out header, nonce, ciphertext and tag as documented, the header as AAD', () => {
    const nonce = new Uint8Array(12).map((_, i) => i + 1);
    const payload = utf8('{"events":[1,2,3]}');
    const file = encodeSpoolFile(header, payload, key, nonce);

    // Rebuild the same file independently from the documented layout.
    const expectedHeader = Buffer.alloc(SPOOL_HEADER_BYTES);
    expectedHeader.write('FLSP', 0, 'latin1');
    expectedHeader[4] = 1;
    expectedHeader[5] = 1;
    expectedHeader.writeBigUInt64BE(BigInt(header.createdAtMs), 6);
    expectedHeader.writeUInt32BE(42, 14);
    expectedHeader.set(nonce, 18);
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    cipher.setAAD(expectedHeader, { plaintextLength: payload.length });
    const body = Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()]);

    expect(Buffer.from(file).equals(Buffer.concat([expectedHeader, body]))).toBe(true);
    expect(file.length).toBe(SPOOL_MIN_FILE_BYTES + payload.length);
  });

  it('round-trips, with an empty payload too', () => {
    for (const payload of [utf8('hello'), new Uint8Array(0)]) {
      const opened = decodeSpoolFile(encodeSpoolFile(header, payload, key), key);
      expect(opened.ok && opened.value.header).toEqual(header);
      expect(opened.ok && text(opened.value.payload)).toBe(text(payload));
    }
  });

  it('uses a fresh nonce for every file', () => {
    const a = encodeSpoolFile(header, utf8('same'), key);
    const b = encodeSpoolFile(header, utf8('same'), key);
    expect(Buffer.from(a.subarray(18, 30)).equals(Buffer.from(b.subarray(18, 30)))).toBe(false);
  });

  it('refuses every single flipped byte, header included, and every truncation', () => {
    const file = encodeSpoolFile(header, utf8('payload of a few bytes'), key);
    for (let at = 0; at < file.length; at++) {
      const damaged = file.slice();
      damaged[at] = (damaged[at] ?? 0) ^ 0x01;
      expect(decodeSpoolFile(damaged, key).ok, `byte ${at}`).toBe(false);
    }
    for (let length = 0; length < file.length; length++) {
      expect(decodeSpoolFile(file.subarray(0, length), key).ok, `length ${length}`).toBe(false);
    }
  });

  it('says why a file is unreadable', () => {
    const file = encodeSpoolFile(header, utf8('x'), key);
    const issue = (bytes: Uint8Array) => {
      const result = decodeSpoolFile(bytes, key);
      return result.ok ? 'ok' : result.error;
    };
    expect(issue(file.subarray(0, 10))).toBe('truncated');
    expect(issue(Uint8Array.from([0x58, ...file.subarray(1)]))).toBe('bad_magic');
    const version = file.slice();
    version[4] = 2;
    expect(issue(version)).toBe('unsupported_version');
    const kind = file.slice();
    kind[5] = 9;
    expect(issue(kind)).toBe('bad_header');
    expect(issue(file.slice(0, -1))).toBe('auth_failed');
    expect(issue(file)).toBe('ok');
    const wrongKey = decodeSpoolFile(file, testKey(2));
    expect(wrongKey.ok ? 'ok' : wrongKey.error).toBe('auth_failed');
  });

  it('reads the clear header without the key', () => {
    const file = encodeSpoolFile({ ...header, kind: 'report', itemCount: 1 }, utf8('r'), key);
    const parsed = parseSpoolFileHeader(file.subarray(0, SPOOL_HEADER_BYTES), file.length);
    expect(parsed).toEqual({
      ok: true,
      value: { kind: 'report', createdAtMs: header.createdAtMs, itemCount: 1 },
    });
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => encodeSpoolFile(header, utf8('x'), new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: 'spool_key_invalid' }),
    );
    try {
      encodeSpoolFile(header, utf8('x'), new Uint8Array(31));
    } catch (error) {
      expect(isSpoolError(error)).toBe(true);
    }
  });
});
