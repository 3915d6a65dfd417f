import { type Clock, systemClock } from '../contracts/clock.js';
import { type Random, systemRandom } from '../contracts/random.js';
import { decodeBase64Url, encodeBase64Url } from '../crypto/base64url.js';
import { type Identity, sign, verify } from '../crypto/identity.js';
import type { HelloFrame } from './realtime.js';

/** Domain separation: a hello signature can never pass for a sealed frame's or a receipt's. */
export const HELLO_SIGNATURE_DOMAIN = 'fieldline/v1 hello';

const encoder = new TextEncoder();

/**
 * The exact bytes a device signs in its hello: the UTF-8 encoding of
 * `"fieldline/v1 hello\n" + deviceId + "\n" + ts + "\n" + nonce`, with `ts`
 * in decimal milliseconds since the Unix epoch and no trailing newline.
 *
 * @param deviceId - the device's id, as issued at enrollment.
 * @param ts - the hello's timestamp in milliseconds.
 * @param nonce - the hello's one-time nonce.
 * @returns the bytes to sign or verify.
 * @example
 * ```ts
 * helloSigningBytes('dev_1', 1767225600000, 'AAAAAAAAAAAAAAAAAAAAAA');
 * ```
 */
export function helloSigningBytes(deviceId: string, ts: number, nonce: string): Uint8Array {
  return encoder.encode(`${HELLO_SIGNATURE_DOMAIN}\n${deviceId}\n${ts}\n${nonce}`);
}

/** What {@link createHelloFrame} needs besides the identity. */
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
 * Builds a device's signed hello, the first frame on `GET /v1/ws`.
 *
 * @param deviceId - the enrolled device's id.
 * @param identity - the device's identity (its Ed25519 key signs).
 * @param options - clock and randomness, for tests.
 * @returns the frame, ready for `JSON.stringify`.
 * @example
 * ```ts
 * socket.send(JSON.stringify(createHelloFrame(deviceId, identity)));
 * ```
 */
export function createHelloFrame(
  deviceId: string,
  identity: Identity,
  options: CreateHelloOptions = {},
): HelloFrame {
  const ts = (options.clock ?? systemClock).now();
  const nonce = encodeBase64Url((options.random ?? systemRandom).bytes(16));
  const sig = encodeBase64Url(sign(helloSigningBytes(deviceId, ts, nonce), identity));
  return { kind: 'hello', deviceId, ts, nonce, sig };
}

/**
 * Checks a hello's signature against the device's Ed25519 public key. Skew
 * and nonce reuse are the server's to check (they need its clock and memory).
 *
 * @param hello - a schema-valid hello frame.
 * @param signingPublicKey - the device's Ed25519 public key (raw or base64url).
 * @returns true only when the signature is valid.
 * @example
 * ```ts
 * if (!verifyHelloSignature(hello, device.signingPublicKey)) socket.close(4401);
 * ```
 */
export function verifyHelloSignature(
  hello: HelloFrame,
  signingPublicKey: Uint8Array | string,
): boolean {
  const signature = decodeBase64Url(hello.sig);
  if (!signature.ok) return false;
  return verify(
    helloSigningBytes(hello.deviceId, hello.ts, hello.nonce),
    signature.value,
    signingPublicKey,
  );
}
