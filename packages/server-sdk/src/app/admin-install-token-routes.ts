import { ROUTES } from '@fieldline/core';
import { assertTenantAccess } from '../auth/admin-auth.js';
import {
  getInstallToken,
  listInstallTokens,
  revokeInstallToken,
} from '../enrollment/manage-install-tokens.js';
import { HttpError } from '../http/http-error.js';
import { json } from '../http/json-body.js';
import type { FieldlineRequest, Route } from '../http/types.js';
import { adminActor } from './admin-device-standing-routes.js';
import type { AppContext } from './app-context.js';

/**
 * Listing and revoking install tokens (docs/protocol.md §5.2): `GET /v1/admin/install-tokens`,
 * `GET /v1/admin/install-tokens/:id`, and revocation by `DELETE` on the token or
 * `POST …/:id/revoke` (the same, for clients that cannot send DELETE). Another tenant's token
 * is a 404, like a missing one.
 *
 * @param context - database, clock and admin authentication.
 */
export function adminInstallTokenRoutes(context: AppContext): Route[] {
  const { db, clock, authenticateAdmin } = context;

  async function revoke(request: FieldlineRequest, id: string) {
    const admin = authenticateAdmin(request);
    const existing = await getInstallToken(db, id, clock.now());
    if (existing === undefined) throw new HttpError('not_found', 'No such install token.');
    assertTenantAccess(admin, existing.tenant, 'install token');
    const result = await revokeInstallToken(db, id, { actor: adminActor(admin), clock });
    if (result === undefined) throw new HttpError('not_found', 'No such install token.');
    return json(200, { ...result.token, changed: result.changed });
  }

  return [
    {
      method: 'GET',
      path: ROUTES.adminInstallTokens,
      async handle(request) {
        const admin = authenticateAdmin(request);
        return json(200, {
          installTokens: await listInstallTokens(db, admin.tenant, clock.now()),
        });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminInstallToken,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const token = await getInstallToken(db, params.id ?? '', clock.now());
        if (token === undefined) throw new HttpError('not_found', 'No such install token.');
        assertTenantAccess(admin, token.tenant, 'install token');
        return json(200, token);
      },
    },
    {
      method: 'DELETE',
      path: ROUTES.adminInstallToken,
      handle: (request, params) => revoke(request, params.id ?? ''),
    },
    {
      method: 'POST',
      path: ROUTES.adminInstallTokenRevoke,
      handle: (request, params) => revoke(request, params.id ?? ''),
    },
  ];
}
