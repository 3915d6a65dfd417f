import { type Clock, systemClock } from '../contracts/clock.js';
import { type Random, systemRandom } from '../contracts/random.js';
import { decodeBase64Url, encodeBase64Url } from '../crypto/base64url.js';
import { type Identity, sign, verify } from '../crypto/identity.js';
import type { HelloFrame, ResumeFrame } from './realtime.js';

/** Domain separation: a hello signature can never pass for a sealed frame's or a receipt's. */
export const HELLO_SIGNATURE_DOMAIN = 'fieldline/v1 hello';

/** Domain separation: a resume signature can never pass for a hello's, nor the reverse. */
export const RESUME_SIGNATURE_DOMAIN = 'fieldline/v1 resume';

const encoder = new TextEncoder();

/**
 * The exact bytes a device signs in its hello: the UTF-8 encoding of
 * `"fieldline/v1 hello\n" + deviceId + "\n" + ts + "\n" + nonce + "\n" + challenge`, with `ts`
 * in decimal milliseconds since the Unix epoch and no trailing newline. `challenge` is the one
 * the server sent on this connection, so the signature is worthless on any other.
 *
 * @param deviceId - the device's id, as issued at enrollment.
 * @param ts - the hello's timestamp in milliseconds.
 * @param nonce - the hello's one-time nonce.
 * @param challenge - the connection's challenge, from the server's `challenge` frame.
 * @returns the bytes to sign or verify.
 * @example
 * ```ts
 * helloSigningBytes('dev_1', 1767225600000, 'AAAAAAAAAAAAAAAAAAAAAA', challenge.challenge);
 * ```
 */
export function helloSigningBytes(
  deviceId: string,
  ts: number,
  nonce: string,
  challenge: string,
): Uint8Array {
  return encoder.encode(`${HELLO_SIGNATURE_DOMAIN}\n${deviceId}\n${ts}\n${nonce}\n${challenge}`);
}

/**
 * The exact bytes a device signs in its resume: the UTF-8 encoding of
 * `"fieldline/v1 resume\n" + deviceId + "\n" + nonce + "\n" + challenge + "\n" + sessionToken`,
 * no trailing newline. The challenge makes the resume good for one connection only; the token
 * names the session it continues.
 *
 * @param deviceId - the device's id.
 * @param nonce - the resume's one-time nonce.
 * @param challenge - the connection's challenge.
 * @param sessionToken - the token of the session being resumed.
 * @returns the bytes to sign or verify.
 * @example
 * ```ts
 * resumeSigningBytes('dev_1', 'AAAAAAAAAAAAAAAAAAAAAA', challenge.challenge, token);
 * ```
 */
export function resumeSigningBytes(
  deviceId: string,
  nonce: string,
  challenge: string,
  sessionToken: string,
): Uint8Array {
  return encoder.encode(
    `${RESUME_SIGNATURE_DOMAIN}\n${deviceId}\n${nonce}\n${challenge}\n${sessionToken}`,
  );
}

/** What {@link createHelloFrame} and {@link createResumeFrame} need besides the identity. */
export interface CreateHelloOptions {
  /**
   * Time source for `ts`.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Source of the 16-byte nonce.
   * @default systemRandom
   */
  readonly random?: Random;
}

/**
 * Builds a device's signed hello, its answer to the server's `challenge` on `GET /v1/ws`.
 *
 * @param deviceId - the enrolled device's id.
 * @param identity - the device's identity (its Ed25519 key signs).
 * @param challenge - the challenge the server sent on this connection.
 * @param options - clock and randomness, for tests.
 * @returns the frame, ready for `JSON.stringify`.
 * @example
 * ```ts
 * socket.send(JSON.stringify(createHelloFrame(deviceId, identity, challengeFrame.challenge)));
 * ```
 */
export function createHelloFrame(
  deviceId: string,
  identity: Identity,
  challenge: string,
  options: CreateHelloOptions = {},
): HelloFrame {
  const ts = (options.clock ?? systemClock).now();
  const nonce = encodeBase64Url((options.random ?? systemRandom).bytes(16));
  const sig = encodeBase64Url(sign(helloSigningBytes(deviceId, ts, nonce, challenge), identity));
  return { kind: 'hello', deviceId, ts, nonce, sig };
}

/**
 * Builds a device's signed resume of an earlier session, its answer to the server's
 * `challenge` when it still holds an unexpired session token.
 *
 * @param deviceId - the enrolled device's id.
 * @param identity - the device's identity (its Ed25519 key signs).
 * @param sessionToken - the token of the earlier welcome.
 * @param challenge - the challenge the server sent on this connection.
 * @param options - randomness, for tests.
 * @returns the frame, ready for `JSON.stringify`.
 * @example
 * ```ts
 * socket.send(JSON.stringify(createResumeFrame(deviceId, identity, token, challengeFrame.challenge)));
 * ```
 */
export function createResumeFrame(
  deviceId: string,
  identity: Identity,
  sessionToken: string,
  challenge: string,
  options: CreateHelloOptions = {},
): ResumeFrame {
  const nonce = encodeBase64Url((options.random ?? systemRandom).bytes(16));
  const sig = encodeBase64Url(
    sign(resumeSigningBytes(deviceId, nonce, challenge, sessionToken), identity),
  );
  return { kind: 'resume', deviceId, sessionToken, nonce, sig };
}

/**
 * Checks a hello's or a resume's signature, for the challenge of the connection it arrived on,
 * against the device's Ed25519 public key. Skew, nonce reuse and the session token are the
 * server's to check (they need its clock and storage).
 *
 * @param frame - a schema-valid hello or resume frame.
 * @param challenge - the challenge the server sent on this connection.
 * @param signingPublicKey - the device's Ed25519 public key (raw or base64url).
 * @returns true only when the signature is valid for this connection.
 * @example
 * ```ts
 * if (!verifyHelloSignature(hello, connection.challenge, device.signingPublicKey)) socket.close(4401);
 * ```
 */
export function verifyHelloSignature(
  frame: HelloFrame | ResumeFrame,
  challenge: string,
  signingPublicKey: Uint8Array | string,
): boolean {
  const signature = decodeBase64Url(frame.sig);
  if (!signature.ok) return false;
  const bytes =
    frame.kind === 'hello'
      ? helloSigningBytes(frame.deviceId, frame.ts, frame.nonce, challenge)
      : resumeSigningBytes(frame.deviceId, frame.nonce, challenge, frame.sessionToken);
  return verify(bytes, signature.value, signingPublicKey);
}
