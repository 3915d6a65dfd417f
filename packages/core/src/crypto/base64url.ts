import { err, ok, type Result } from '../result.js';
import { KeyFormatError } from './crypto-errors.js';

const BASE64URL_ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Encodes bytes as unpadded base64url (RFC 4648 section 5), the text form of every key,
 * signature and sealed frame on the wire.
 *
 * @param bytes - the bytes to encode.
 * @returns the base64url text, without `=` padding.
 * @example
 * ```ts
 * encodeBase64Url(new Uint8Array([0xfb, 0xff])); // '-_8'
 * ```
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decodes unpadded base64url, refusing anything but the one canonical spelling of the bytes.
 *
 * Node's decoder silently skips characters outside the alphabet and ignores stray trailing
 * bits, so two different strings could name the same key; this parser refuses both, plus
 * padding, so a string is accepted only if {@link encodeBase64Url} would have produced it.
 *
 * @param text - untrusted base64url text.
 * @returns the bytes, or a `KeyFormatError` with code `invalid_encoding`.
 * @example
 * ```ts
 * const decoded = decodeBase64Url('-_8');
 * if (decoded.ok) decoded.value; // Uint8Array [0xfb, 0xff]
 * ```
 */
export function decodeBase64Url(text: string): Result<Uint8Array, KeyFormatError> {
  if (typeof text !== 'string' || !BASE64URL_ALPHABET.test(text) || text.length % 4 === 1) {
    return err(new KeyFormatError('invalid_encoding', 'Expected unpadded base64url text.'));
  }
  const decoded = Buffer.from(text, 'base64url');
  if (decoded.toString('base64url') !== text) {
    return err(new KeyFormatError('invalid_encoding', 'Base64url text is not in canonical form.'));
  }
  // Copied because small Buffers are slices of a shared pool, and a view whose `.buffer` is
  // that pool would leak unrelated bytes into any API that reads the whole ArrayBuffer.
  return ok(new Uint8Array(decoded));
}
