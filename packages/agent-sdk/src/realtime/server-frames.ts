import { randomUUID } from 'node:crypto';
import {
  type Clock,
  decodeBase64Url,
  encodeBase64Url,
  type Identity,
  openJson,
  type ReplayGuard,
  type SealErrorCode,
  sealJson,
  sealMessage,
} from '@fieldline/core';
import type { EnrollmentFile } from '../state/state-files.js';

/** Who is talking: the device's identity and the pinned server keys. */
export interface FrameParties {
  readonly identity: Identity;
  readonly enrollment: EnrollmentFile;
  readonly clock: Clock;
  /** Remembers the message ids of frames from the server; a replayed frame is refused. */
  readonly replayGuard: ReplayGuard;
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

/** A frame from the server, opened, or why it was refused. */
export type OpenedServerFrame =
  | { readonly ok: true; readonly payload: unknown }
  | { readonly ok: false; readonly code: SealErrorCode | 'wrong_kind' | 'wrong_sender' };

/**
 * Opens a `sealed` field from the server: its signature must verify with the server key pinned
 * at enrollment (no other key is ever accepted), its timestamp be within the skew, its message
 * id be new, and its kind and sender be the expected ones. Never throws for bad input.
 *
 * @param parties - identity, pinned keys, clock, replay guard.
 * @param sealed - the base64url frame.
 * @param kind - the kind it must be (2 message, 4 command).
 * @returns the payload, or the failed check's code.
 */
export async function openFromServer(
  parties: FrameParties,
  sealed: string,
  kind: number,
): Promise<OpenedServerFrame> {
  const bytes = decodeBase64Url(sealed);
  if (!bytes.ok) return { ok: false, code: 'malformed_frame' };
  const opened = await openJson(bytes.value, {
    recipient: parties.identity,
    senderSigningPublicKey: parties.enrollment.serverPublicKeys.signingPublicKey,
    clock: parties.clock,
    replayGuard: parties.replayGuard,
  });
  if (!opened.ok) return { ok: false, code: opened.error.code };
  if (opened.value.kind !== kind) return { ok: false, code: 'wrong_kind' };
  if (opened.value.senderId !== 'server') return { ok: false, code: 'wrong_sender' };
  return { ok: true, payload: opened.value.payload };
}
