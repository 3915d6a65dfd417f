import type { AccountRole } from '@fieldline/core';
import { HttpError } from '../http/http-error.js';
import type { FieldlineRequest } from '../http/types.js';
import { bearerToken, secretsEqual } from './secret-tokens.js';

/** Who an admin request acts as: every tenant, or one. */
export interface AdminPrincipal {
  /** The tenant this admin may see and change; `null` for the operator (all tenants). */
  readonly tenant: string | null;
  /**
   * Who this admin is in the audit log: the credential's `name`, else `admin` for the operator
   * and `admin:<tenant>` for a tenant's admin.
   */
  readonly actor: string;
  /**
   * True for a person who may only read (an `auditor`): the app refuses their mutating
   * requests before any route runs.
   * @default false
   */
  readonly readOnly?: boolean;
  /** The person, when the request authenticated with a session cookie rather than a token. */
  readonly user?: AdminPrincipalUser;
}

/** The person behind a session-authenticated {@link AdminPrincipal}. */
export interface AdminPrincipalUser {
  readonly id: string;
  readonly email: string;
  /** The role the session acts with. */
  readonly role: AccountRole;
  /** The session's id. */
  readonly sessionId: string;
}

/** An admin credential: a token, and the tenant it is limited to (none: all tenants). */
export interface AdminCredential {
  readonly token: string;
  readonly tenant?: string;
  /**
   * Who holds the token, as the audit log names them (`actor`); never the token itself.
   * @default 'admin' for the operator, 'admin:<tenant>' for a tenant's admin
   */
  readonly name?: string;
}

function actorOf(credential: AdminCredential): string {
  if (credential.name !== undefined) return credential.name;
  return credential.tenant === undefined ? 'admin' : `admin:${credential.tenant}`;
}

/** Authenticates admin requests. */
export type AdminAuthenticator = (request: FieldlineRequest) => AdminPrincipal;

/**
 * Creates the admin authenticator from the configured credentials. Every
 * credential is compared in constant time, all of them every time, so timing
 * says nothing about which (if any) nearly matched.
 *
 * @param credentials - the admin tokens.
 * @returns a function that returns the principal or throws 401.
 * @throws {@link HttpError} `unauthenticated` (no bearer) or `invalid_token`.
 */
export function createAdminAuthenticator(
  credentials: readonly AdminCredential[],
): AdminAuthenticator {
  const list = [...credentials];
  return (request) => {
    const token = bearerToken(request.header('authorization'));
    if (token === undefined) {
      throw new HttpError(
        'unauthenticated',
        'Send the admin token as "Authorization: Bearer <token>".',
      );
    }
    let principal: AdminPrincipal | undefined;
    for (const credential of list) {
      if (secretsEqual(token, credential.token) && principal === undefined) {
        principal = { tenant: credential.tenant ?? null, actor: actorOf(credential) };
      }
    }
    if (principal === undefined)
      throw new HttpError('invalid_token', 'The admin token is not valid.');
    return principal;
  };
}

/**
 * Checks that an admin may act on `tenant`.
 *
 * @param principal - the authenticated admin.
 * @param tenant - the tenant of the object.
 * @throws {@link HttpError} `not_found` for another tenant's object, so ids cannot be probed.
 */
export function assertTenantAccess(principal: AdminPrincipal, tenant: string, what: string): void {
  if (principal.tenant !== null && principal.tenant !== tenant) {
    throw new HttpError('not_found', `No such ${what}.`);
  }
}
