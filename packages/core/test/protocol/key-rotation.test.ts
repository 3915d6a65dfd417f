// Device key rotation requests and server key rotation chains: what verifies, and what a
// changed byte, a wrong key or a broken link makes fail.
import { describe, expect, it } from 'vitest';
import {
  createKeyRotationRequest,
  generateIdentity,
  publicKeysOf,
  rotateKeysRequestSchema,
  serverKeysResponseSchema,
  signServerKeyRotation,
  verifyKeyRotationRequest,
  verifyServerKeyChain,
} from '../../src/index.js';

describe('device key rotation requests', () => {
  it('verifies with both keys, and fails on a changed field or the wrong current key', async () => {
    const current = await generateIdentity();
    const next = await generateIdentity();
    const request = rotateKeysRequestSchema.parse(createKeyRotationRequest('dev_1', current, next));
    expect(verifyKeyRotationRequest(request, publicKeysOf(current))).toBe(true);
    // A retry after the rotation was applied is checked with the new key alone.
    expect(verifyKeyRotationRequest(request, undefined)).toBe(true);
    expect(verifyKeyRotationRequest({ ...request, deviceId: 'dev_2' }, publicKeysOf(current))).toBe(
      false,
    );
    expect(
      verifyKeyRotationRequest({ ...request, ts: request.ts + 1 }, publicKeysOf(current)),
    ).toBe(false);
    const stranger = await generateIdentity();
    expect(verifyKeyRotationRequest(request, publicKeysOf(stranger))).toBe(false);
    // New keys that the signer of `newSignature` does not hold.
    const other = await generateIdentity();
    expect(
      verifyKeyRotationRequest(
        { ...request, newPublicKeys: publicKeysOf(other) },
        publicKeysOf(current),
      ),
    ).toBe(false);
  });
});

describe('server key rotation chains', () => {
  const times = {
    issuedAt: '2026-12-01T00:00:00.000Z',
    previousNotAfter: '2026-12-08T00:00:00.000Z',
  };

  it('walks from the pinned key to the current one, across several rotations', async () => {
    const [a, b, c] = await Promise.all([
      generateIdentity(),
      generateIdentity(),
      generateIdentity(),
    ]);
    const response = serverKeysResponseSchema.parse({
      current: publicKeysOf(c),
      rotations: [
        signServerKeyRotation(a, publicKeysOf(b), times),
        signServerKeyRotation(b, publicKeysOf(c), times),
      ],
    });
    expect(verifyServerKeyChain(publicKeysOf(a), response)).toEqual(publicKeysOf(c));
    expect(verifyServerKeyChain(publicKeysOf(b), response)).toEqual(publicKeysOf(c));
    expect(verifyServerKeyChain(publicKeysOf(c), response)).toEqual(publicKeysOf(c));
  });

  it('refuses a chain with a forged link, a changed field, or none from the pinned key', async () => {
    const [a, b, c, mallory] = await Promise.all([
      generateIdentity(),
      generateIdentity(),
      generateIdentity(),
      generateIdentity(),
    ]);
    const first = signServerKeyRotation(a, publicKeysOf(b), times);
    // Signed by a key claiming to be a's.
    const forged = {
      ...signServerKeyRotation(mallory, publicKeysOf(c), times),
      previousSigningPublicKey: publicKeysOf(a).signingPublicKey,
    };
    expect(
      verifyServerKeyChain(publicKeysOf(a), { current: publicKeysOf(c), rotations: [forged] }),
    ).toBeUndefined();
    expect(
      verifyServerKeyChain(publicKeysOf(a), {
        current: publicKeysOf(b),
        rotations: [{ ...first, previousNotAfter: '2099-01-01T00:00:00.000Z' }],
      }),
    ).toBeUndefined();
    expect(
      verifyServerKeyChain(publicKeysOf(a), { current: publicKeysOf(c), rotations: [] }),
    ).toBeUndefined();
  });
});
