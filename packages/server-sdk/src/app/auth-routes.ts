import {
  changePasswordRequestSchema,
  loginRequestSchema,
  ROUTES,
  type SessionResponse,
  setupRequestSchema,
  switchTenantRequestSchema,
} from '@fieldline/core';
import { sql } from 'kysely';
import { throwAccountHttpError } from '../accounts/account-http-error.js';
import type { AccountServices } from '../accounts/account-services.js';
import { hashPassword, needsRehash, verifyPassword } from '../accounts/password-hash.js';
import { originAllowed } from '../accounts/request-origin.js';
import { claimSetupToken, markSetupTokenUser } from '../accounts/setup-tokens.js';
import {
  type ActiveSession,
  actingRole,
  createUserSession,
  csrfTokenFor,
  deleteUserSession,
  setSessionTenant,
} from '../accounts/user-sessions.js';
import {
  changeOwnPassword,
  countUsers,
  createUser,
  findLoginUser,
  getUser,
  normalizeEmail,
  upgradePasswordHash,
} from '../accounts/user-store.js';
import { appendAudit } from '../audit/append-audit.js';
import { HttpError, isHttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { FieldlineRequest, FieldlineResponse, Route } from '../http/types.js';

/** Advisory lock key that serializes first-run setups ("FLST" in ASCII). */
const SETUP_LOCK_KEY = 0x464c5354;

function assertSameOrigin(request: FieldlineRequest, services: AccountServices): void {
  // A login form posted from another site would log the victim into the attacker's account.
  if (!originAllowed(request, services.trustedOrigins)) {
    throw new HttpError(
      'csrf_failed',
      'The request comes from another site (its Origin is not this server); refused.',
    );
  }
}

async function sessionBody(
  services: AccountServices,
  session: Pick<ActiveSession, 'userId' | 'tenant' | 'role' | 'csrfToken' | 'expiresAt'> & {
    readonly idleExpiresAt: string;
  },
): Promise<SessionResponse> {
  const user = await getUser(services.db, session.userId);
  if (user === undefined) throw new HttpError('unauthenticated', 'The account no longer exists.');
  return {
    user: { ...user, roles: [...user.roles] },
    tenant: session.tenant,
    role: session.role,
    csrfToken: session.csrfToken,
    expiresAt: session.expiresAt,
    idleExpiresAt: session.idleExpiresAt,
  };
}

function idleExpiry(services: AccountServices, expiresAt: string): string {
  const idle = services.clock.now() + services.policy.idleTimeoutMs;
  return new Date(Math.min(idle, new Date(expiresAt).getTime())).toISOString();
}

function invalidCredentials(): HttpError {
  return new HttpError('invalid_credentials', 'The e-mail or the password is wrong.');
}

/**
 * People's login and session routes (docs/accounts.md): `POST /v1/auth/login`,
 * `POST /v1/auth/logout`, `GET`/`PUT /v1/auth/session`, `POST /v1/auth/password` and the
 * first-run `POST /v1/auth/setup`. Logins are rate limited per e-mail and per client address;
 * every outcome that changes something is audited with the actor `user:<email>`.
 *
 * @param services - the app's account services.
 * @returns the routes.
 */
export function authRoutes(services: AccountServices): Route[] {
  const { db, clock, gate, throttle } = services;

  async function audit(
    action: string,
    email: string,
    subject: string | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    await appendAudit(
      db,
      { tenantId: null, actor: `user:${email}`, action, subject, details },
      { clock },
    );
  }

  async function refuseIfThrottled(email: string, source: string): Promise<void> {
    const verdict = await throttle.check(email, source);
    if (verdict.allowed) return;
    throw new HttpError(
      'rate_limited',
      `Too many failed logins ${verdict.limit === 'email' ? 'for this e-mail' : 'from this address'}; retry in ${verdict.retryAfterSeconds} s.`,
      {
        headers: { 'retry-after': String(verdict.retryAfterSeconds) },
        details: { limit: verdict.limit, retryAfterSeconds: verdict.retryAfterSeconds },
      },
    );
  }

  async function login(request: FieldlineRequest): Promise<FieldlineResponse> {
    assertSameOrigin(request, services);
    const body = readJsonBody(request, loginRequestSchema);
    const email = normalizeEmail(body.email);
    const source = services.sourceOf(request);
    await refuseIfThrottled(email, source);
    // Awaited whether or not the e-mail is known: the first login pays for making the decoy,
    // whichever it is.
    const decoy = await services.decoyHash();
    const user = await findLoginUser(db, email);
    // An unknown e-mail costs one scrypt too, so the answer's timing does not tell it apart.
    const matches = await verifyPassword(body.password, user?.passwordHash ?? decoy);
    if (user === undefined || !matches || user.disabled) {
      await throttle.recordFailure(email, source);
      const reason =
        user === undefined ? 'unknown_email' : matches ? 'account_disabled' : 'wrong_password';
      await audit('auth.login_failed', email, user === undefined ? null : `user:${user.id}`, {
        reason,
        source,
      });
      throw invalidCredentials();
    }
    await throttle.recordSuccess(email);
    const record = await getUser(db, user.id);
    const acting = actingRole(record?.roles ?? [], body.tenant ?? null);
    if (acting === undefined) {
      throw new HttpError(
        'forbidden',
        `The account ${user.email} holds no role; ask an owner or a tenant admin for one.`,
      );
    }
    if (body.tenant !== undefined && acting.tenant !== null && acting.tenant !== body.tenant) {
      throw new HttpError(
        'forbidden',
        `The account ${user.email} has no role in tenant ${body.tenant}.`,
      );
    }
    if (needsRehash(user.passwordHash, services.passwordHash)) {
      await upgradePasswordHash(
        db,
        user.id,
        user.passwordHash,
        await hashPassword(body.password, services.passwordHash),
      );
    }
    const created = await createUserSession(db, user.id, acting.tenant, {
      clock,
      policy: services.policy,
    });
    await audit('auth.login_succeeded', user.email, `user:${user.id}`, {
      session: created.id,
      tenant: acting.tenant,
      role: acting.role,
      source,
    });
    const responseBody = await sessionBody(services, {
      userId: user.id,
      tenant: acting.tenant,
      role: acting.role,
      csrfToken: csrfTokenFor(created.token),
      expiresAt: created.expiresAt,
      idleExpiresAt: idleExpiry(services, created.expiresAt),
    });
    return json(200, responseBody, {
      'set-cookie': gate.cookie(request, created.token, created.expiresAt),
      'cache-control': 'no-store',
    });
  }

  async function logout(request: FieldlineRequest): Promise<FieldlineResponse> {
    const cleared = { 'set-cookie': gate.clearCookie(request) };
    if (!gate.usesCookie(request)) return { status: 204, headers: cleared };
    let session: ActiveSession;
    try {
      session = gate.require(request);
    } catch (error) {
      // A session already gone is logged out: say so, and drop the cookie.
      if (
        isHttpError(error) &&
        (error.code === 'unauthenticated' || error.code === 'session_expired')
      ) {
        return { status: 204, headers: cleared };
      }
      throw error;
    }
    await deleteUserSession(db, session.id);
    await audit('auth.logout', session.email, `user:${session.userId}`, { session: session.id });
    return { status: 204, headers: cleared };
  }

  async function changePassword(request: FieldlineRequest): Promise<FieldlineResponse> {
    const session = gate.require(request);
    const body = readJsonBody(request, changePasswordRequestSchema);
    const source = services.sourceOf(request);
    // A stolen session must not become a way to guess the password: the same limit applies.
    await refuseIfThrottled(session.email, source);
    const user = await findLoginUser(db, session.email);
    if (user === undefined || !(await verifyPassword(body.currentPassword, user.passwordHash))) {
      await throttle.recordFailure(session.email, source);
      await audit('auth.password_change_failed', session.email, `user:${session.userId}`, {
        source,
      });
      throw new HttpError('invalid_credentials', 'The current password is wrong.');
    }
    let hash: string;
    try {
      hash = await hashPassword(body.newPassword, services.passwordHash);
    } catch (error) {
      throwAccountHttpError(error);
    }
    const result = await changeOwnPassword(db, session.userId, hash, {
      clock,
      actor: `user:${session.email}`,
      keepSessionId: session.id,
    });
    return json(200, { endedSessions: result.endedSessions });
  }

  async function setup(request: FieldlineRequest): Promise<FieldlineResponse> {
    assertSameOrigin(request, services);
    const body = readJsonBody(request, setupRequestSchema);
    const email = normalizeEmail(body.email);
    let hash: string;
    try {
      // Hashed before the transaction: its locks are not held through scrypt.
      hash = await hashPassword(body.password, services.passwordHash);
    } catch (error) {
      throwAccountHttpError(error);
    }
    const created = await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${sql.lit(SETUP_LOCK_KEY)})`.execute(trx);
      const tokenId = await claimSetupToken(trx, body.token, clock.now());
      if (tokenId === undefined) {
        throw new HttpError(
          'invalid_token',
          'The setup token is unknown, used or expired; restart the server for a new link, or run `fieldline-server user create`.',
        );
      }
      if ((await countUsers(trx)) > 0) {
        throw new HttpError('conflict', 'An account exists already; log in instead.');
      }
      const user = await createUser(
        trx,
        { email, passwordHash: hash, roles: [{ role: 'owner' }] },
        { clock, actor: `user:${email}`, details: { via: 'setup' } },
      );
      await markSetupTokenUser(trx, tokenId, user.id);
      const session = await createUserSession(trx, user.id, null, {
        clock,
        policy: services.policy,
      });
      await appendAudit(
        trx,
        {
          tenantId: null,
          actor: `user:${email}`,
          action: 'auth.setup_completed',
          subject: `user:${user.id}`,
          details: { setupToken: tokenId, session: session.id },
        },
        { clock },
      );
      return { user, session };
    });
    const responseBody = await sessionBody(services, {
      userId: created.user.id,
      tenant: null,
      role: 'owner',
      csrfToken: csrfTokenFor(created.session.token),
      expiresAt: created.session.expiresAt,
      idleExpiresAt: idleExpiry(services, created.session.expiresAt),
    });
    return json(201, responseBody, {
      'set-cookie': gate.cookie(request, created.session.token, created.session.expiresAt),
      'cache-control': 'no-store',
    });
  }

  return [
    { method: 'POST', path: ROUTES.authLogin, handle: login },
    { method: 'POST', path: ROUTES.authLogout, handle: logout },
    {
      method: 'GET',
      path: ROUTES.authSession,
      async handle(request) {
        const session = gate.require(request);
        return json(200, await sessionBody(services, session), { 'cache-control': 'no-store' });
      },
    },
    {
      method: 'PUT',
      path: ROUTES.authSession,
      async handle(request) {
        const session = gate.require(request);
        const { tenant } = readJsonBody(request, switchTenantRequestSchema);
        if (session.role === 'owner') {
          throw new HttpError(
            'invalid_request',
            'An owner acts in every tenant; there is nothing to switch.',
          );
        }
        const acting = actingRole(session.roles, tenant);
        if (acting?.tenant !== tenant) {
          throw new HttpError(
            'forbidden',
            `The account ${session.email} has no role in tenant ${tenant}.`,
          );
        }
        await setSessionTenant(db, session.id, tenant);
        return json(200, await sessionBody(services, { ...session, tenant, role: acting.role }), {
          'cache-control': 'no-store',
        });
      },
    },
    { method: 'POST', path: ROUTES.authPassword, handle: changePassword },
    { method: 'POST', path: ROUTES.authSetup, handle: setup },
  ];
}
