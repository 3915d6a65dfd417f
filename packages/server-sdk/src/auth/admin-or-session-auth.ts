import type { SessionGate } from '../accounts/session-gate.js';
import { isMutatingMethod } from '../accounts/session-gate.js';
import type { ActiveSession } from '../accounts/user-sessions.js';
import { HttpError } from '../http/http-error.js';
import type { AdminAuthenticator, AdminPrincipal } from './admin-auth.js';

/**
 * The admin principal a person's session acts as: an owner as the operator (every tenant), a
 * tenant admin or auditor in their session's tenant, the auditor read-only; the audit log
 * names them `user:<email>`.
 *
 * @param session - the live session.
 * @returns the principal.
 */
export function sessionPrincipal(session: ActiveSession): AdminPrincipal {
  return {
    tenant: session.tenant,
    actor: `user:${session.email}`,
    readOnly: session.role === 'auditor',
    user: {
      id: session.userId,
      email: session.email,
      role: session.role,
      sessionId: session.id,
    },
  };
}

/**
 * Admin authentication that takes either credential: a bearer token (machines; checked by
 * `tokens`, no CSRF needed since browsers never add it on their own) or a person's session
 * cookie (checked by `sessions`: origin, CSRF token on mutating requests). A read-only
 * principal (an auditor) gets 403 `forbidden` on every method but GET and HEAD, so no route
 * needs to know about roles. Requests must have been prepared by the gate (the app's `handle`
 * does it).
 *
 * @param tokens - the bearer-token authenticator (`createAdminAuthenticator`).
 * @param sessions - the app's session gate.
 * @returns the combined authenticator.
 */
export function createAdminOrSessionAuthenticator(
  tokens: AdminAuthenticator,
  sessions: SessionGate,
): AdminAuthenticator {
  return (request) => {
    if (request.header('authorization') !== undefined) return tokens(request);
    if (!sessions.usesCookie(request)) {
      throw new HttpError(
        'unauthenticated',
        'Send the admin token as "Authorization: Bearer <token>", or log in (POST /v1/auth/login) and send the session cookie.',
      );
    }
    const principal = sessionPrincipal(sessions.require(request));
    if (principal.readOnly === true && isMutatingMethod(request.method)) {
      throw new HttpError(
        'forbidden',
        `An auditor may only read: ${request.method} ${request.path} is refused for ${principal.actor}.`,
      );
    }
    return principal;
  };
}
