import { describe, expect, it } from 'vitest';
import {
  createHelloFrame,
  generateIdentity,
  helloFrameSchema,
  helloSigningBytes,
  realtimeFrameSchema,
  verifyHelloSignature,
} from '../../src/index.js';
import { createFakeClock, createSeededRandom } from '../../src/testing/index.js';

describe('realtime hello', () => {
  it('signs the documented bytes exactly', () => {
    const bytes = helloSigningBytes('dev_1', 1767225600000, 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(new TextDecoder().decode(bytes)).toBe(
      'fieldline/v1 hello\ndev_1\n1767225600000\nAAAAAAAAAAAAAAAAAAAAAA',
    );
  });

  it('makes a schema-valid hello that verifies with the device key only', async () => {
    const device = await generateIdentity();
    const other = await generateIdentity();
    const hello = createHelloFrame('dev_1', device, {
      clock: createFakeClock({ nowMs: 1767225600000 }),
      random: createSeededRandom(7),
    });
    expect(helloFrameSchema.parse(hello)).toEqual(hello);
    expect(realtimeFrameSchema.parse(hello).kind).toBe('hello');
    expect(hello.ts).toBe(1767225600000);
    expect(verifyHelloSignature(hello, device.signingPublicKey)).toBe(true);
    expect(verifyHelloSignature(hello, other.signingPublicKey)).toBe(false);
  });

  it('refuses a hello whose signed fields were changed', async () => {
    const device = await generateIdentity();
    const hello = createHelloFrame('dev_1', device);
    for (const changed of [
      { ...hello, deviceId: 'dev_2' },
      { ...hello, ts: hello.ts + 1 },
      { ...hello, nonce: `${hello.nonce.slice(0, -1)}${hello.nonce.endsWith('A') ? 'B' : 'A'}` },
    ]) {
      expect(verifyHelloSignature(changed, device.signingPublicKey)).toBe(false);
    }
  });

  it('draws a fresh nonce for every hello', async () => {
    const device = await generateIdentity();
    const nonces = new Set(
      Array.from({ length: 50 }, () => createHelloFrame('dev_1', device).nonce),
    );
    expect(nonces.size).toBe(50);
  });
});
