import type { FieldlineRequest } from '../http/types.js';

/**
 * Whether a request's `Origin` (when it has one) is this server: its host and port must be the
 * request's `Host`, or one of `trustedOrigins` (for a proxy that rewrites `Host`). Browsers
 * send `Origin` on every cross-site request, so a page elsewhere is refused even when it
 * manages to carry the cookie.
 *
 * @param request - the request.
 * @param trustedOrigins - extra origins, e.g. `https://console.example.com`.
 * @returns true when there is no `Origin` or it matches.
 */
export function originAllowed(
  request: FieldlineRequest,
  trustedOrigins: readonly string[] = [],
): boolean {
  const origin = request.header('origin');
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  if (trustedOrigins.some((trusted) => sameOrigin(trusted, parsed))) return true;
  const host = request.header('host');
  if (host === undefined) return false;
  try {
    // Read with the origin's scheme, so a default port written or left out compares equal.
    return new URL(`${parsed.protocol}//${host}`).host === parsed.host;
  } catch {
    return false;
  }
}

function sameOrigin(trusted: string, origin: URL): boolean {
  try {
    return new URL(trusted).origin === origin.origin;
  } catch {
    return false;
  }
}
