/** The name of the session cookie. */
export const SESSION_COOKIE_NAME = 'fieldline_session';

/**
 * Reads one cookie from a `Cookie` header.
 *
 * @param header - the header's value.
 * @param name - the cookie's name.
 * @returns its value, or undefined when absent (or when it appears more than once with
 *   different values: a cookie planted beside ours by a sibling domain must not be picked).
 * @example
 * ```ts
 * readCookie('a=1; fieldline_session=fl_session_x', 'fieldline_session'); // 'fl_session_x'
 * ```
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const values = new Set<string>();
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) values.add(part.slice(index + 1).trim());
  }
  if (values.size !== 1) return undefined;
  const [value] = values;
  return value === '' ? undefined : value;
}

/** Attributes of the session cookie. */
export interface SessionCookieOptions {
  /** Add `Secure` (the request came over HTTPS). */
  readonly secure: boolean;
  /** `Max-Age`, in seconds; 0 deletes the cookie. */
  readonly maxAgeSeconds: number;
  /**
   * The cookie's name.
   * @default 'fieldline_session'
   */
  readonly name?: string;
}

/**
 * A `Set-Cookie` value for the session: `HttpOnly` (no script reads it), `SameSite=Strict` (no
 * other site's page sends it), `Path=/`, `Secure` over HTTPS.
 *
 * @param value - the session token, or '' to delete the cookie.
 * @param options - attributes.
 * @returns the header's value.
 */
export function sessionCookie(value: string, options: SessionCookieOptions): string {
  const parts = [
    `${options.name ?? SESSION_COOKIE_NAME}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
  ];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
