import { FieldlineError, isFieldlineError } from '../errors.js';

/**
 * Why a sealed frame was refused by {@link openMessage}, in the order the checks run.
 *
 * - `malformed_frame`: not a Fieldline frame, truncated, trailing bytes, or a field out of range.
 * - `unsupported_version`: a Fieldline frame of a protocol version this build cannot read.
 * - `wrong_recipient`: sealed to another key (the recipient key id does not match ours).
 * - `unknown_sender`: no signing key is known for the frame's sender id.
 * - `bad_signature`: the Ed25519 signature does not cover these exact bytes (any tampering).
 * - `timestamp_out_of_range`: signed, but too old or too far in the future for the allowed skew.
 * - `replayed`: signed and fresh, but this message id was already accepted.
 * - `decrypt_failed`: signed and fresh, but HPKE could not open the ciphertext with our key.
 * - `invalid_payload`: opened, but the plaintext is not the JSON that {@link openJson} expects.
 */
export type SealErrorCode =
  | 'malformed_frame'
  | 'unsupported_version'
  | 'wrong_recipient'
  | 'unknown_sender'
  | 'bad_signature'
  | 'timestamp_out_of_range'
  | 'replayed'
  | 'decrypt_failed'
  | 'invalid_payload';

/**
 * A sealed frame that could not be opened. Returned (never thrown) by {@link openMessage},
 * {@link openJson} and {@link decodeSealedBody}, because frames are untrusted input.
 *
 * @example
 * ```ts
 * const opened = await openMessage(frame, options);
 * if (!opened.ok && opened.error.code === 'replayed') metrics.replays += 1;
 * ```
 */
export class SealError extends FieldlineError<SealErrorCode> {
  /**
   * @param code - which check failed.
   * @param message - a sentence a person can act on; never contains key material.
   * @param details - structured context such as the skew in milliseconds.
   */
  constructor(code: SealErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? undefined : { details });
    this.name = 'SealError';
  }
}

const SEAL_ERROR_CODES: ReadonlySet<string> = new Set<SealErrorCode>([
  'malformed_frame',
  'unsupported_version',
  'wrong_recipient',
  'unknown_sender',
  'bad_signature',
  'timestamp_out_of_range',
  'replayed',
  'decrypt_failed',
  'invalid_payload',
]);

/**
 * Narrows an unknown value to a {@link SealError}.
 *
 * @param value - anything caught or returned.
 * @returns true when `value` is a SealError (from any copy of this package).
 */
export function isSealError(value: unknown): value is SealError {
  // Matched on name and code rather than instanceof so that an ESM and a CJS
  // copy of the package recognise each other's errors.
  return isFieldlineError(value) && value.name === 'SealError' && SEAL_ERROR_CODES.has(value.code);
}

/**
 * Why stored or received key material was refused.
 *
 * - `invalid_encoding`: not canonical unpadded base64url.
 * - `invalid_identity`: an exported identity that does not match the schema, or whose public
 *   keys do not belong to its private keys.
 * - `invalid_public_key`: a wire-form public key pair that does not match the schema.
 */
export type KeyFormatErrorCode = 'invalid_encoding' | 'invalid_identity' | 'invalid_public_key';

/**
 * Key material (an exported identity, a wire-form public key, a base64url string) that could not
 * be parsed. Returned in a `Result`, never thrown, because it comes from disk or the network.
 *
 * @example
 * ```ts
 * const imported = importIdentity(JSON.parse(text));
 * if (!imported.ok) console.error(imported.error.code, imported.error.details);
 * ```
 */
export class KeyFormatError extends FieldlineError<KeyFormatErrorCode> {
  /**
   * @param code - what kind of input was refused.
   * @param message - a sentence a person can act on; never contains key material.
   * @param details - structured context such as the offending field paths.
   */
  constructor(code: KeyFormatErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? undefined : { details });
    this.name = 'KeyFormatError';
  }
}

/**
 * Narrows an unknown value to a {@link KeyFormatError}.
 *
 * @param value - anything caught or returned.
 * @returns true when `value` is a KeyFormatError (from any copy of this package).
 */
export function isKeyFormatError(value: unknown): value is KeyFormatError {
  return (
    isFieldlineError(value) &&
    value.name === 'KeyFormatError' &&
    (value.code === 'invalid_encoding' ||
      value.code === 'invalid_identity' ||
      value.code === 'invalid_public_key')
  );
}
