import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A new bearer secret: 32 random bytes as base64url, with a readable prefix
 * (`fl_install_…`, `fl_device_…`) so a leaked token is easy to recognise.
 *
 * @param prefix - what kind of token it is.
 */
export function generateSecretToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * The form in which tokens are stored: SHA-256, hex. Tokens are 256-bit
 * random, so a fast hash is enough (no password stretching needed), and
 * lookups by hash leak nothing useful through timing.
 *
 * @param token - the secret.
 */
export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Compares two secrets in constant time (over their SHA-256 digests, so
 * lengths do not leak either).
 *
 * @param a - one secret.
 * @param b - the other.
 */
export function secretsEqual(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a, 'utf8').digest();
  const digestB = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(digestA, digestB);
}

/**
 * Extracts a bearer token from an `authorization` header.
 *
 * @param header - the header value.
 * @returns the token, or undefined when the header is absent or not `Bearer <token>`.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]{8,512})\s*$/i.exec(header ?? '');
  return match?.[1];
}
