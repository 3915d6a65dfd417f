import type { Clock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { secretsEqual } from '../auth/secret-tokens.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import type { FieldlineRequest } from '../http/types.js';
import { originAllowed } from './request-origin.js';
import { readCookie, SESSION_COOKIE_NAME, sessionCookie } from './session-cookie.js';
import {
  type ActiveSession,
  DEFAULT_SESSION_POLICY,
  findUserSession,
  type SessionLookup,
  type SessionPolicy,
} from './user-sessions.js';

/** Options of {@link createSessionGate}. */
export interface SessionGateOptions extends SessionPolicy {
  readonly db: Kysely<FieldlineDatabase>;
  readonly clock: Clock;
  /**
   * The session cookie's name.
   * @default 'fieldline_session'
   */
  readonly cookieName?: string;
  /**
   * Mark the cookie `Secure`: always, never, or `'auto'` when the request came over TLS to
   * this process. Behind a TLS-terminating proxy, set `true`.
   * @default 'auto'
   */
  readonly secureCookies?: boolean | 'auto';
  /**
   * Origins besides the request's own `Host` that cookie requests may come from (e.g. when a
   * proxy rewrites `Host`).
   * @default []
   */
  readonly trustedOrigins?: readonly string[];
}

/**
 * Resolves session cookies. Authentication of admin routes is synchronous
 * (`AdminAuthenticator`), and a session lives in the database, so the app resolves a
 * request's cookie once, before routing ({@link SessionGate.prepare}); the routes then read
 * the outcome ({@link SessionGate.require}).
 */
export interface SessionGate {
  /**
   * Looks the request's session cookie up, when it has one and no `Authorization` header (a
   * bearer token always wins). Never throws: a failure is kept and thrown by `require`.
   *
   * @param request - the request, before routing.
   */
  prepare(request: FieldlineRequest): Promise<void>;
  /**
   * Whether the request authenticates with a session cookie (it has one and no
   * `Authorization` header).
   *
   * @param request - the request.
   */
  usesCookie(request: FieldlineRequest): boolean;
  /**
   * The request's live session, after checking its `Origin` and, for a method other than GET
   * and HEAD, its `x-csrf-token` header.
   *
   * @param request - a prepared request.
   * @returns the session.
   * @throws {@link HttpError} `unauthenticated` (no or unknown session), `session_expired`
   *   (both clear the cookie), `csrf_failed`, `forbidden` (no role left), or the database's
   *   error.
   */
  require(request: FieldlineRequest): ActiveSession;
  /**
   * The `Set-Cookie` value that hands a new session to the browser.
   *
   * @param request - the request it answers (for `Secure`).
   * @param token - the session's token.
   * @param expiresAt - its absolute expiry.
   */
  cookie(request: FieldlineRequest, token: string, expiresAt: string): string;
  /**
   * The `Set-Cookie` value that deletes the session cookie.
   *
   * @param request - the request it answers (for `Secure`).
   */
  clearCookie(request: FieldlineRequest): string;
}

type Outcome = { readonly lookup: SessionLookup } | { readonly error: unknown };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a method changes something (everything but GET, HEAD and OPTIONS).
 *
 * @param method - upper-case.
 */
export function isMutatingMethod(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/**
 * Creates the {@link SessionGate} of an app.
 *
 * @param options - database, clock, session policy and cookie settings.
 * @returns the gate.
 * @example
 * ```ts
 * const gate = createSessionGate({ db, clock });
 * await gate.prepare(request);
 * const session = gate.require(request);
 * ```
 */
export function createSessionGate(options: SessionGateOptions): SessionGate {
  const { db, clock } = options;
  const name = options.cookieName ?? SESSION_COOKIE_NAME;
  const policy: Required<SessionPolicy> = {
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_SESSION_POLICY.idleTimeoutMs,
    lifetimeMs: options.lifetimeMs ?? DEFAULT_SESSION_POLICY.lifetimeMs,
  };
  const outcomes = new WeakMap<FieldlineRequest, Outcome>();
  const secure = (request: FieldlineRequest) =>
    options.secureCookies === undefined || options.secureCookies === 'auto'
      ? request.secure === true
      : options.secureCookies;
  const tokenOf = (request: FieldlineRequest) =>
    request.header('authorization') === undefined
      ? readCookie(request.header('cookie'), name)
      : undefined;
  const clearCookie = (request: FieldlineRequest) =>
    sessionCookie('', { name, secure: secure(request), maxAgeSeconds: 0 });

  return {
    async prepare(request) {
      const token = tokenOf(request);
      if (token === undefined) return;
      try {
        outcomes.set(request, { lookup: await findUserSession(db, token, { clock, policy }) });
      } catch (error) {
        outcomes.set(request, { error });
      }
    },
    usesCookie: (request) => tokenOf(request) !== undefined,
    require(request) {
      const outcome = outcomes.get(request);
      if (outcome === undefined) {
        throw new HttpError(
          'unauthenticated',
          tokenOf(request) === undefined
            ? 'Log in first (POST /v1/auth/login): this route needs a session cookie.'
            : 'The session cookie was not resolved: serve requests through the app’s handle().',
        );
      }
      if ('error' in outcome) throw outcome.error;
      const { lookup } = outcome;
      const cleared = { headers: { 'set-cookie': clearCookie(request) } };
      if (lookup.kind === 'expired') {
        throw new HttpError('session_expired', 'Your session expired; log in again.', cleared);
      }
      if (lookup.kind === 'unknown') {
        throw new HttpError(
          'unauthenticated',
          'Your session has ended (logged out, revoked or disabled); log in again.',
          cleared,
        );
      }
      if (lookup.kind === 'no_role') {
        throw new HttpError(
          'forbidden',
          `The account ${lookup.email} holds no role; ask an owner or a tenant admin for one.`,
        );
      }
      if (!originAllowed(request, options.trustedOrigins)) {
        throw new HttpError(
          'csrf_failed',
          'The request comes from another site (its Origin is not this server); refused.',
        );
      }
      if (isMutatingMethod(request.method)) {
        const sent = request.header('x-csrf-token');
        if (sent === undefined || !secretsEqual(sent, lookup.session.csrfToken)) {
          throw new HttpError(
            'csrf_failed',
            'Send the session’s CSRF token (from POST /v1/auth/login or GET /v1/auth/session) in the x-csrf-token header.',
          );
        }
      }
      return lookup.session;
    },
    cookie(request, token, expiresAt) {
      return sessionCookie(token, {
        name,
        secure: secure(request),
        maxAgeSeconds: (new Date(expiresAt).getTime() - clock.now()) / 1000,
      });
    },
    clearCookie,
  };
}
