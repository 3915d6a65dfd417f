import { CONSENT_PAGE_COOKIE } from '@fieldline/core';
import type { FieldlineRequest } from '../http/types.js';

/** The path the consent page's cookie is sent to: the device-scoped API only. */
export const CONSENT_PAGE_COOKIE_PATH = '/v1/me';

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The consent page's session token from the request's `Cookie` header, if it holds one of the
 * right shape. A malformed value is treated as absent: it can name no session.
 *
 * @param request - the request.
 * @returns the token, or undefined.
 * @example
 * ```ts
 * const token = consentPageSessionToken(request); // 'Qk9…' or undefined
 * ```
 */
export function consentPageSessionToken(request: FieldlineRequest): string | undefined {
  const header = request.header('cookie');
  if (header === undefined) return undefined;
  for (const pair of header.split(/;\s*/)) {
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== CONSENT_PAGE_COOKIE) continue;
    const value = pair.slice(equals + 1).trim();
    if (TOKEN_PATTERN.test(value)) return value;
  }
  return undefined;
}

/**
 * The `Set-Cookie` value that hands the session to the browser: HttpOnly (the page's script
 * never sees it), SameSite=Strict (no other site's page can make the browser send it),
 * `Path=/v1/me` (sent to the device-scoped API only), `Secure` over TLS, and a `Max-Age` equal
 * to the session's lifetime.
 *
 * @param token - the session token.
 * @param options - the lifetime and whether the connection is TLS.
 * @returns the header value.
 * @example
 * ```ts
 * headers['set-cookie'] = consentPageCookie(token, { maxAgeSeconds: 1800, secure: true });
 * ```
 */
export function consentPageCookie(
  token: string,
  options: { readonly maxAgeSeconds: number; readonly secure: boolean },
): string {
  const attributes = [
    `${CONSENT_PAGE_COOKIE}=${token}`,
    `Path=${CONSENT_PAGE_COOKIE_PATH}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (options.secure) attributes.push('Secure');
  return attributes.join('; ');
}
