import { randomUUID } from 'node:crypto';
import { type Clock, encodeBase64Url, type Identity, sealJson, sealMessage } from '@fieldline/core';
import type { EnrollmentFile } from '../state/state-files.js';

/** Who is talking: the device's identity and the pinned server keys. */
export interface FrameParties {
  readonly identity: Identity;
  readonly enrollment: EnrollmentFile;
  readonly clock: Clock;
}

/**
 * Seals a JSON body from the device to the server (signed by the device), as base64url.
 *
 * @param parties - identity, pinned keys, clock.
 * @param kind - the frame kind (2 for channel messages).
 * @param payload - the body.
 * @returns the `sealed` field of a frame.
 */
export async function sealForServer(
  parties: FrameParties,
  kind: number,
  payload: unknown,
): Promise<string> {
  const frame = await sealJson({
    kind,
    senderId: parties.enrollment.deviceId,
    messageId: randomUUID(),
    timestampMs: parties.clock.now(),
    payload: payload ?? null,
    recipientEncryptionPublicKey: parties.enrollment.serverPublicKeys.encryptionPublicKey,
    sender: parties.identity,
  });
  return encodeBase64Url(frame);
}

/**
 * Seals bytes from the device to the server (an already serialized batch), as base64url.
 *
 * @param parties - identity, pinned keys, clock.
 * @param kind - the frame kind (1 for event batches).
 * @param plaintext - the bytes.
 * @returns the `sealed` field of a frame.
 */
export async function sealBytesForServer(
  parties: FrameParties,
  kind: number,
  plaintext: Uint8Array,
): Promise<string> {
  const frame = await sealMessage({
    kind,
    senderId: parties.enrollment.deviceId,
    messageId: randomUUID(),
    timestampMs: parties.clock.now(),
    plaintext,
    recipientEncryptionPublicKey: parties.enrollment.serverPublicKeys.encryptionPublicKey,
    sender: parties.identity,
  });
  return encodeBase64Url(frame);
}
