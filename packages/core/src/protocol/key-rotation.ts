import { type Clock, systemClock } from '../contracts/clock.js';
import { type Random, systemRandom } from '../contracts/random.js';
import { decodeBase64Url, encodeBase64Url } from '../crypto/base64url.js';
import { type Identity, publicKeysOf, sign, verify } from '../crypto/identity.js';
import type { PublicKeys } from './common.js';
import type { RotateKeysRequest } from './device-api.js';

/** Domain separation: a rotation signature can never pass for a hello's or a sealed frame's. */
export const KEY_ROTATION_SIGNATURE_DOMAIN = 'fieldline/v1 key-rotation';

const encoder = new TextEncoder();

/**
 * The exact bytes both signatures of a device key rotation sign: the UTF-8 encoding of
 * `"fieldline/v1 key-rotation\n" + deviceId + "\n" + newSigningKey + "\n" +
 * newEncryptionKey + "\n" + ts + "\n" + nonce` (keys base64url, `ts` decimal milliseconds).
 *
 * @param fields - device id, new public keys, time and nonce.
 * @returns the bytes to sign or verify.
 * @example
 * ```ts
 * keyRotationSigningBytes({ deviceId: 'dev_1', newPublicKeys, ts: 1767225600000, nonce });
 * ```
 */
export function keyRotationSigningBytes(
  fields: Pick<RotateKeysRequest, 'deviceId' | 'newPublicKeys' | 'ts' | 'nonce'>,
): Uint8Array {
  return encoder.encode(
    [
      KEY_ROTATION_SIGNATURE_DOMAIN,
      fields.deviceId,
      fields.newPublicKeys.signingPublicKey,
      fields.newPublicKeys.encryptionPublicKey,
      String(fields.ts),
      fields.nonce,
    ].join('\n'),
  );
}

/**
 * Builds a `POST /v1/keys/rotate` body: the new public keys, signed by the current identity
 * (possession of the old key) and by the new one (possession of the new key).
 *
 * @param deviceId - the device.
 * @param current - the identity the server knows now.
 * @param next - the new identity.
 * @param options - clock and random source.
 * @returns the request body.
 * @example
 * ```ts
 * const body = createKeyRotationRequest('dev_1', identity, await generateIdentity());
 * ```
 */
export function createKeyRotationRequest(
  deviceId: string,
  current: Identity,
  next: Identity,
  options: { readonly clock?: Clock; readonly random?: Random } = {},
): RotateKeysRequest {
  const fields = {
    deviceId,
    newPublicKeys: publicKeysOf(next),
    ts: (options.clock ?? systemClock).now(),
    nonce: encodeBase64Url((options.random ?? systemRandom).bytes(16)),
  };
  const bytes = keyRotationSigningBytes(fields);
  return {
    ...fields,
    signature: encodeBase64Url(sign(bytes, current)),
    newSignature: encodeBase64Url(sign(bytes, next)),
  };
}

/**
 * Checks the two signatures of a key rotation request.
 *
 * @param request - a schema-valid body.
 * @param currentKeys - the device's public keys on record, or `undefined` to check only the
 *   new key's signature (a retry of a rotation the server already applied).
 * @returns true when every checked signature verifies.
 */
export function verifyKeyRotationRequest(
  request: RotateKeysRequest,
  currentKeys: PublicKeys | undefined,
): boolean {
  const bytes = keyRotationSigningBytes(request);
  const decode = (value: string) => {
    const decoded = decodeBase64Url(value);
    return decoded.ok ? decoded.value : new Uint8Array(0);
  };
  const byNew = verify(bytes, decode(request.newSignature), request.newPublicKeys.signingPublicKey);
  if (currentKeys === undefined) return byNew;
  return byNew && verify(bytes, decode(request.signature), currentKeys.signingPublicKey);
}
