import { requestJson } from './request-json.js';
import { ROUTES, type SessionResponse, sessionResponseSchema } from './schemas.js';

/** The header cookie-authenticated mutating calls carry (docs/accounts.md, "CSRF"). */
export const SESSION_CSRF_HEADER = 'x-csrf-token';

/**
 * The signed-in person's session, or undefined when there is none.
 *
 * @returns the session.
 */
export async function fetchSession(): Promise<SessionResponse | undefined> {
  try {
    return await requestJson({ path: ROUTES.authSession, schema: sessionResponseSchema });
  } catch (error) {
    if (error instanceof Error && 'status' in error && error.status === 401) return undefined;
    throw error;
  }
}

/**
 * Signs in.
 *
 * @param email - the account's e-mail.
 * @param password - its password.
 * @returns the new session.
 */
export function login(email: string, password: string): Promise<SessionResponse> {
  return requestJson({
    method: 'POST',
    path: ROUTES.authLogin,
    body: { email, password },
    schema: sessionResponseSchema,
  });
}

/**
 * Creates the first owner with the one-time setup token, and signs them in.
 *
 * @param token - from the first-run link's `#token=`.
 * @param email - the owner's e-mail.
 * @param password - their new password.
 * @returns the new session.
 */
export function setupOwner(
  token: string,
  email: string,
  password: string,
): Promise<SessionResponse> {
  return requestJson({
    method: 'POST',
    path: ROUTES.authSetup,
    body: { token, email, password },
    schema: sessionResponseSchema,
  });
}

/**
 * Ends the session.
 *
 * @param session - the session to end (for its CSRF token).
 */
export async function logout(session: SessionResponse): Promise<void> {
  await requestJson({
    method: 'POST',
    path: ROUTES.authLogout,
    headers: { [SESSION_CSRF_HEADER]: session.csrfToken },
  });
}
