import { gunzipSync } from 'node:zlib';
import { HttpError } from './http-error.js';

/** Limits the adapters apply before any handler runs. */
export interface BodyLimits {
  /**
   * Largest body accepted on the wire, in bytes.
   * @default 2_097_152 (2 MiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * Largest body after gzip decompression, in bytes (a guard against
   * compression bombs).
   * @default 16_777_216 (16 MiB)
   */
  readonly maxDecodedBytes?: number;
}

/** @internal */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** @internal */
export const DEFAULT_MAX_DECODED_BYTES = 16 * 1024 * 1024;

/**
 * Thrown before a body is read when its announced length is over the limit.
 * @internal
 */
export function tooLarge(limit: number): HttpError {
  return new HttpError('payload_too_large', `The body is larger than ${limit} bytes.`, {
    details: { maxBodyBytes: limit },
  });
}

/**
 * Undoes `content-encoding` (identity or gzip), enforcing the decoded limit.
 * @internal
 */
export function decodeBody(
  body: Uint8Array,
  encoding: string | undefined,
  limits: BodyLimits,
): Uint8Array {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === '' || name === 'identity') return body;
  if (name !== 'gzip') {
    throw new HttpError(
      'unsupported_media_type',
      `Content-Encoding ${name} is not supported; use gzip or none.`,
    );
  }
  const maxOutputLength = limits.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  try {
    return new Uint8Array(gunzipSync(body, { maxOutputLength }));
  } catch (error) {
    if (
      error instanceof RangeError ||
      (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
    ) {
      throw new HttpError(
        'payload_too_large',
        `The decompressed body is larger than ${maxOutputLength} bytes.`,
      );
    }
    throw new HttpError('invalid_json', 'The body is not valid gzip.');
  }
}

/**
 * {@link decodeBody} deferred to the first read and kept: a route that refuses
 * the request's credential first never decompresses its body. The read throws
 * the same `HttpError`s, which the router answers.
 * @internal
 */
export function lazyDecodedBody(
  body: Uint8Array,
  encoding: string | undefined,
  limits: BodyLimits,
): () => Uint8Array {
  let decoded: Uint8Array | undefined;
  return () => {
    decoded ??= decodeBody(body, encoding, limits);
    return decoded;
  };
}
