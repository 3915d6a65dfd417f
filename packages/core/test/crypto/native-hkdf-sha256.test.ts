import { describe, expect, it } from 'vitest';
import { NativeHkdfSha256 } from '../../src/crypto/native-hkdf-sha256.js';

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (buffer: ArrayBuffer) => Buffer.from(buffer).toString('hex');

// RFC 5869 Appendix A.1 (test case 1, SHA-256).
const ikm = hex('0b'.repeat(22));
const salt = hex('000102030405060708090a0b0c');
const info = hex('f0f1f2f3f4f5f6f7f8f9');
const prk = '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5';
const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';

describe('NativeHkdfSha256 (RFC 5869 A.1)', () => {
  const kdf = new NativeHkdfSha256();

  it('extracts the published PRK', async () => {
    expect(toHex(await kdf.extract(salt, ikm))).toBe(prk);
  });

  it('expands to the published OKM, across block boundaries', async () => {
    expect(toHex(await kdf.expand(hex(prk), info, 42))).toBe(okm);
    expect(toHex(await kdf.expand(hex(prk), info, 32))).toBe(okm.slice(0, 64));
  });

  it('extracts and expands in one step', async () => {
    expect(toHex(await kdf.extractAndExpand(salt, ikm, info, 42))).toBe(okm);
  });

  it('uses HashLen zero bytes for an empty salt', async () => {
    expect(toHex(await kdf.extract(new Uint8Array(0), ikm))).toBe(
      toHex(await kdf.extract(new Uint8Array(32), ikm)),
    );
  });

  it('refuses an output longer than 255 blocks', async () => {
    await expect(kdf.expand(hex(prk), info, 255 * 32 + 1)).rejects.toThrow(RangeError);
  });
});
