import { describe, expect, it } from 'vitest';
import {
  challengeFrameSchema,
  createHelloFrame,
  createResumeFrame,
  generateIdentity,
  helloFrameSchema,
  helloSigningBytes,
  realtimeFrameSchema,
  resumeFrameSchema,
  resumeSigningBytes,
  verifyHelloSignature,
} from '../../src/index.js';
import { createFakeClock, createSeededRandom } from '../../src/testing/index.js';

const CHALLENGE = 'C'.repeat(43);
const OTHER_CHALLENGE = 'D'.repeat(43);

describe('realtime hello and resume', () => {
  it('signs the documented bytes exactly', () => {
    const hello = helloSigningBytes('dev_1', 1767225600000, 'AAAAAAAAAAAAAAAAAAAAAA', CHALLENGE);
    expect(new TextDecoder().decode(hello)).toBe(
      `fieldline/v1 hello\ndev_1\n1767225600000\nAAAAAAAAAAAAAAAAAAAAAA\n${CHALLENGE}`,
    );
    const resume = resumeSigningBytes('dev_1', 'AAAAAAAAAAAAAAAAAAAAAA', CHALLENGE, 'T'.repeat(43));
    expect(new TextDecoder().decode(resume)).toBe(
      `fieldline/v1 resume\ndev_1\nAAAAAAAAAAAAAAAAAAAAAA\n${CHALLENGE}\n${'T'.repeat(43)}`,
    );
  });

  it('parses the server challenge frame', () => {
    const frame = { kind: 'challenge', challenge: CHALLENGE };
    expect(challengeFrameSchema.parse(frame)).toEqual(frame);
    expect(realtimeFrameSchema.parse(frame).kind).toBe('challenge');
    expect(challengeFrameSchema.safeParse({ ...frame, challenge: 'short' }).success).toBe(false);
  });

  it('makes a schema-valid hello that verifies with the device key, on its connection only', async () => {
    const device = await generateIdentity();
    const other = await generateIdentity();
    const hello = createHelloFrame('dev_1', device, CHALLENGE, {
      clock: createFakeClock({ nowMs: 1767225600000 }),
      random: createSeededRandom(7),
    });
    expect(helloFrameSchema.parse(hello)).toEqual(hello);
    expect(realtimeFrameSchema.parse(hello).kind).toBe('hello');
    expect(hello.ts).toBe(1767225600000);
    expect(verifyHelloSignature(hello, CHALLENGE, device.signingPublicKey)).toBe(true);
    expect(verifyHelloSignature(hello, CHALLENGE, other.signingPublicKey)).toBe(false);
    // Recorded and replayed on another connection: another challenge, so no longer valid.
    expect(verifyHelloSignature(hello, OTHER_CHALLENGE, device.signingPublicKey)).toBe(false);
  });

  it('makes a signed resume bound to its challenge and its token', async () => {
    const device = await generateIdentity();
    const resume = createResumeFrame('dev_1', device, 'T'.repeat(43), CHALLENGE);
    expect(resumeFrameSchema.parse(resume)).toEqual(resume);
    expect(verifyHelloSignature(resume, CHALLENGE, device.signingPublicKey)).toBe(true);
    expect(verifyHelloSignature(resume, OTHER_CHALLENGE, device.signingPublicKey)).toBe(false);
    expect(
      verifyHelloSignature(
        { ...resume, sessionToken: 'U'.repeat(43) },
        CHALLENGE,
        device.signingPublicKey,
      ),
    ).toBe(false);
    // A resume without a signature is not a frame at all.
    const { sig: _sig, ...unsigned } = resume;
    expect(resumeFrameSchema.safeParse(unsigned).success).toBe(false);
  });

  it('refuses a hello whose signed fields were changed', async () => {
    const device = await generateIdentity();
    const hello = createHelloFrame('dev_1', device, CHALLENGE);
    for (const changed of [
      { ...hello, deviceId: 'dev_2' },
      { ...hello, ts: hello.ts + 1 },
      { ...hello, nonce: `${hello.nonce.slice(0, -1)}${hello.nonce.endsWith('A') ? 'B' : 'A'}` },
    ]) {
      expect(verifyHelloSignature(changed, CHALLENGE, device.signingPublicKey)).toBe(false);
    }
  });

  it('draws a fresh nonce for every hello', async () => {
    const device = await generateIdentity();
    const nonces = new Set(
      Array.from({ length: 50 }, () => createHelloFrame('dev_1', device, CHALLENGE).nonce),
    );
    expect(nonces.size).toBe(50);
  });
});
