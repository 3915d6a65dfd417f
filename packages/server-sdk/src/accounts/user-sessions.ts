import { createHash, randomUUID } from 'node:crypto';
import type { AccountRole, Clock, RoleGrant } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { generateSecretToken, hashSecretToken } from '../auth/secret-tokens.js';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** How long sessions live. */
export interface SessionPolicy {
  /**
   * A session unused this long ends, in milliseconds.
   * @default 43_200_000 (12 h)
   */
  readonly idleTimeoutMs?: number;
  /**
   * A session ends this long after login whatever happens, in milliseconds.
   * @default 604_800_000 (7 days)
   */
  readonly lifetimeMs?: number;
}

/** The defaults of {@link SessionPolicy}. */
export const DEFAULT_SESSION_POLICY: Required<SessionPolicy> = {
  idleTimeoutMs: 12 * 3600 * 1000,
  lifetimeMs: 7 * 24 * 3600 * 1000,
};

// `last_seen_at` is written at most this often, so reads do not each cost a write.
const TOUCH_INTERVAL_MS = 60_000;

/** A live session, resolved from its cookie. */
export interface ActiveSession {
  readonly id: string;
  readonly userId: string;
  readonly email: string;
  /** Every role the person holds. */
  readonly roles: readonly RoleGrant[];
  /** The tenant the session acts in; null for an owner (every tenant). */
  readonly tenant: string | null;
  /** The role it acts with. */
  readonly role: AccountRole;
  /** The token its mutating requests must carry in `x-csrf-token`. */
  readonly csrfToken: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly idleExpiresAt: string;
}

/** What a cookie's token names. */
export type SessionLookup =
  | { readonly kind: 'active'; readonly session: ActiveSession }
  /** It did exist, and ran out (idle or absolute); it is deleted now. */
  | { readonly kind: 'expired' }
  /** The person has no role left to act with. */
  | { readonly kind: 'no_role'; readonly email: string }
  /** No such session (logged out, revoked, never issued), or the account is disabled. */
  | { readonly kind: 'unknown' };

/**
 * The CSRF token of a session: SHA-256 over a domain string and the session's token. The
 * cookie is HttpOnly, so script on another origin cannot compute it; the database keeps only
 * the token's own hash, so nothing stored reveals it either.
 *
 * @param sessionToken - the cookie's token.
 * @returns base64url, 43 characters.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256')
    .update(`fieldline/v1 csrf\n${sessionToken}`, 'utf8')
    .digest('base64url');
}

function resolvePolicy(policy: SessionPolicy): Required<SessionPolicy> {
  return { ...DEFAULT_SESSION_POLICY, ...policy };
}

/**
 * Picks the tenant and role a session acts with: an owner acts in every tenant; anyone else in
 * `wanted` when they hold a role there, else in their first tenant by name.
 *
 * @internal
 */
export function actingRole(
  roles: readonly RoleGrant[],
  wanted: string | null,
): { readonly tenant: string | null; readonly role: AccountRole } | undefined {
  if (roles.some((grant) => grant.role === 'owner')) return { tenant: null, role: 'owner' };
  const scoped = roles.flatMap((grant) => (grant.role === 'owner' ? [] : [grant]));
  const chosen =
    scoped.find((grant) => grant.tenant === wanted) ??
    [...scoped].sort((a, b) => a.tenant.localeCompare(b.tenant))[0];
  return chosen === undefined ? undefined : { tenant: chosen.tenant, role: chosen.role };
}

/** A new session's secret and times. */
export interface CreatedSession {
  readonly id: string;
  /** The cookie's value; shown once, only its hash is stored. */
  readonly token: string;
  readonly expiresAt: string;
}

/**
 * Opens a session for a person (after their password was checked). Expired sessions of
 * everyone are removed on the way, so the table holds live ones only.
 *
 * @param db - the database (or a transaction).
 * @param userId - the account.
 * @param tenant - the tenant to act in (null for an owner).
 * @param options - clock and policy.
 * @returns the session's id, token and absolute expiry.
 */
export async function createUserSession(
  db: Kysely<FieldlineDatabase>,
  userId: string,
  tenant: string | null,
  options: { readonly clock: Clock; readonly policy?: SessionPolicy },
): Promise<CreatedSession> {
  const policy = resolvePolicy(options.policy ?? {});
  const now = options.clock.now();
  const token = generateSecretToken('fl_session');
  const id = `ses_${randomUUID()}`;
  const expiresAt = new Date(now + policy.lifetimeMs);
  await db
    .deleteFrom('user_sessions')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<=', new Date(now)),
        eb('last_seen_at', '<=', new Date(now - policy.idleTimeoutMs)),
      ]),
    )
    .execute();
  await db
    .insertInto('user_sessions')
    .values({
      id,
      user_id: userId,
      token_hash: hashSecretToken(token),
      tenant_id: tenant,
      created_at: new Date(now),
      expires_at: expiresAt,
      last_seen_at: new Date(now),
    })
    .execute();
  return { id, token, expiresAt: expiresAt.toISOString() };
}

/**
 * Resolves a cookie's token to its session: checks both expiries (deleting a session that ran
 * out), that the account is enabled and holds a role, and records the use (at most once a
 * minute). Roles are read afresh every time, so a change applies to the next request.
 *
 * @param db - the database.
 * @param token - the cookie's value.
 * @param options - clock and policy.
 * @returns the lookup.
 */
export async function findUserSession(
  db: Kysely<FieldlineDatabase>,
  token: string,
  options: { readonly clock: Clock; readonly policy?: SessionPolicy },
): Promise<SessionLookup> {
  const policy = resolvePolicy(options.policy ?? {});
  const now = options.clock.now();
  const row = await db
    .selectFrom('user_sessions')
    .innerJoin('users', 'users.id', 'user_sessions.user_id')
    .select([
      'user_sessions.id',
      'user_sessions.user_id',
      'user_sessions.tenant_id',
      'user_sessions.created_at',
      'user_sessions.expires_at',
      'user_sessions.last_seen_at',
      'users.email',
      'users.disabled',
    ])
    .where('user_sessions.token_hash', '=', hashSecretToken(token))
    .executeTakeFirst();
  if (row === undefined) return { kind: 'unknown' };
  const expiresAtMs = new Date(row.expires_at).getTime();
  const lastSeenMs = new Date(row.last_seen_at).getTime();
  if (now >= expiresAtMs || now >= lastSeenMs + policy.idleTimeoutMs) {
    await db.deleteFrom('user_sessions').where('id', '=', row.id).execute();
    return { kind: 'expired' };
  }
  if (row.disabled) {
    await db.deleteFrom('user_sessions').where('user_id', '=', row.user_id).execute();
    return { kind: 'unknown' };
  }
  const roleRows = await db
    .selectFrom('user_roles')
    .select(['role', 'tenant_id'])
    .where('user_id', '=', row.user_id)
    .execute();
  const roles: RoleGrant[] = roleRows.map((r) =>
    r.role === 'owner' || r.tenant_id === null
      ? { role: 'owner' }
      : { role: r.role, tenant: r.tenant_id },
  );
  const acting = actingRole(roles, row.tenant_id);
  if (acting === undefined) return { kind: 'no_role', email: row.email };
  let seenMs = lastSeenMs;
  if (now - lastSeenMs >= TOUCH_INTERVAL_MS) {
    seenMs = now;
    await db
      .updateTable('user_sessions')
      .set({ last_seen_at: new Date(now) })
      .where('id', '=', row.id)
      .execute();
  }
  return {
    kind: 'active',
    session: {
      id: row.id,
      userId: row.user_id,
      email: row.email,
      roles,
      tenant: acting.tenant,
      role: acting.role,
      csrfToken: csrfTokenFor(token),
      createdAt: new Date(row.created_at).toISOString(),
      expiresAt: new Date(expiresAtMs).toISOString(),
      idleExpiresAt: new Date(Math.min(expiresAtMs, seenMs + policy.idleTimeoutMs)).toISOString(),
    },
  };
}

/**
 * Ends one session (logout).
 *
 * @param db - the database.
 * @param id - the session's id.
 */
export async function deleteUserSession(db: Kysely<FieldlineDatabase>, id: string): Promise<void> {
  await db.deleteFrom('user_sessions').where('id', '=', id).execute();
}

/**
 * Makes a session act in another of the person's tenants.
 *
 * @param db - the database.
 * @param id - the session's id.
 * @param tenant - the tenant.
 */
export async function setSessionTenant(
  db: Kysely<FieldlineDatabase>,
  id: string,
  tenant: string,
): Promise<void> {
  await db.updateTable('user_sessions').set({ tenant_id: tenant }).where('id', '=', id).execute();
}
