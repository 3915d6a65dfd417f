import {
  createUserRequestSchema,
  ROUTES,
  type RoleGrant,
  updateUserRequestSchema,
} from '@fieldline/core';
import { throwAccountHttpError } from '../accounts/account-http-error.js';
import type { AccountServices } from '../accounts/account-services.js';
import { hashPassword } from '../accounts/password-hash.js';
import {
  createUser,
  deleteUser,
  duplicateRoleScope,
  getUser,
  listUsers,
  type UserRecord,
  updateUser,
} from '../accounts/user-store.js';
import type { AdminPrincipal } from '../auth/admin-auth.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { FieldlineRequest, Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

// Who may manage accounts, and where: an owner (or the operator's token) everywhere, a tenant
// admin (or a tenant's token) in their tenant. An auditor manages nothing, not even reads.
function manager(context: AppContext, request: FieldlineRequest): AdminPrincipal {
  const principal = context.authenticateAdmin(request);
  if (principal.readOnly === true) {
    throw new HttpError('forbidden', 'An auditor cannot see or manage accounts.');
  }
  return principal;
}

function checkRoles(principal: AdminPrincipal, roles: readonly RoleGrant[]): void {
  const duplicate = duplicateRoleScope(roles);
  if (duplicate !== undefined) {
    throw new HttpError('invalid_request', `One role per tenant: ${duplicate} is named twice.`);
  }
  const scope = principal.tenant;
  if (scope === null) return;
  const outside = roles.find((grant) => grant.role === 'owner' || grant.tenant !== scope);
  if (outside !== undefined) {
    throw new HttpError(
      'forbidden',
      `A tenant admin grants roles in tenant ${scope} only; ask an owner for ${outside.role === 'owner' ? 'owner' : `tenant ${outside.tenant}`}.`,
    );
  }
}

// What the principal sees of an account: all of it, or its roles in their tenant; an account
// with none there is a 404, as another tenant's objects are.
function visible(principal: AdminPrincipal, user: UserRecord | undefined): UserRecord {
  if (user === undefined) throw new HttpError('not_found', 'No such account.');
  const scope = principal.tenant;
  if (scope === null) return user;
  const roles = user.roles.filter((grant) => grant.role !== 'owner' && grant.tenant === scope);
  if (roles.length === 0) throw new HttpError('not_found', 'No such account.');
  return { ...user, roles };
}

function wholly(principal: AdminPrincipal, user: UserRecord): boolean {
  return (
    principal.tenant === null ||
    user.roles.every((grant) => grant.role !== 'owner' && grant.tenant === principal.tenant)
  );
}

async function hashed(services: AccountServices, password: string): Promise<string> {
  try {
    return await hashPassword(password, services.passwordHash);
  } catch (error) {
    throwAccountHttpError(error);
  }
}

/**
 * Account management (docs/accounts.md): `GET`/`POST /v1/users`,
 * `GET`/`PATCH`/`DELETE /v1/users/:id`. An owner (or the operator's admin token) manages every
 * account; a tenant admin (or a tenant's admin token) the roles in their tenant, and an
 * account's password and `disabled` only when all its roles are there. Every change is audited
 * with the actor who made it and ends the changed account's sessions.
 *
 * @param context - the shared context (its `authenticateAdmin`).
 * @param services - the app's account services.
 * @returns the routes.
 */
export function userRoutes(context: AppContext, services: AccountServices): Route[] {
  const { db, clock } = context;
  return [
    {
      method: 'GET',
      path: ROUTES.users,
      async handle(request) {
        const principal = manager(context, request);
        return json(200, { users: await listUsers(db, principal.tenant) });
      },
    },
    {
      method: 'POST',
      path: ROUTES.users,
      async handle(request) {
        const principal = manager(context, request);
        const body = readJsonBody(request, createUserRequestSchema);
        checkRoles(principal, body.roles);
        const passwordHash = await hashed(services, body.password);
        try {
          const user = await createUser(
            db,
            { email: body.email, passwordHash, roles: body.roles },
            { clock, actor: principal.actor },
          );
          return json(201, user);
        } catch (error) {
          throwAccountHttpError(error);
        }
      },
    },
    {
      method: 'GET',
      path: ROUTES.user,
      async handle(request, params) {
        const principal = manager(context, request);
        return json(200, visible(principal, await getUser(db, params.id ?? '')));
      },
    },
    {
      method: 'PATCH',
      path: ROUTES.user,
      async handle(request, params) {
        const principal = manager(context, request);
        const id = params.id ?? '';
        const existing = visible(principal, await getUser(db, id));
        const body = readJsonBody(request, updateUserRequestSchema);
        if (body.roles !== undefined) checkRoles(principal, body.roles);
        const full = await getUser(db, id);
        if (
          (body.disabled !== undefined || body.password !== undefined) &&
          full !== undefined &&
          !wholly(principal, full)
        ) {
          throw new HttpError(
            'forbidden',
            `${existing.email} also holds roles outside tenant ${principal.tenant}; ask an owner to disable it or set its password.`,
          );
        }
        const passwordHash =
          body.password === undefined ? undefined : await hashed(services, body.password);
        try {
          const updated = await updateUser(
            db,
            id,
            {
              ...(body.roles === undefined ? {} : { roles: body.roles }),
              ...(body.disabled === undefined ? {} : { disabled: body.disabled }),
              ...(passwordHash === undefined ? {} : { passwordHash }),
            },
            { clock, actor: principal.actor, withinTenant: principal.tenant },
          );
          return json(
            200,
            principal.tenant === null
              ? updated
              : {
                  ...updated,
                  roles: updated.roles.filter(
                    (grant) => grant.role !== 'owner' && grant.tenant === principal.tenant,
                  ),
                },
          );
        } catch (error) {
          throwAccountHttpError(error);
        }
      },
    },
    {
      method: 'DELETE',
      path: ROUTES.user,
      async handle(request, params) {
        const principal = manager(context, request);
        const id = params.id ?? '';
        visible(principal, await getUser(db, id));
        try {
          const result = await deleteUser(db, id, {
            clock,
            actor: principal.actor,
            withinTenant: principal.tenant,
          });
          return json(200, { id, deleted: result.deleted });
        } catch (error) {
          throwAccountHttpError(error);
        }
      },
    },
  ];
}
