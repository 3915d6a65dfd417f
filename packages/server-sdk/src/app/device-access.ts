import { assertTenantAccess } from '../auth/admin-auth.js';
import { deviceTenant } from '../devices/device-queries.js';
import { HttpError } from '../http/http-error.js';
import type { FieldlineRequest } from '../http/types.js';
import type { AppContext } from './app-context.js';

/**
 * Authenticates the admin and checks the device is theirs to see. Another
 * tenant's device answers 404 like a missing one, so ids cannot be probed.
 *
 * @param context - database and admin authentication.
 * @returns a check that resolves to the device's tenant, or throws 401/404.
 */
export function createDeviceAccess(
  context: AppContext,
): (request: FieldlineRequest, deviceId: string) => Promise<string> {
  return async (request, deviceId) => {
    const admin = context.authenticateAdmin(request);
    const tenant = await deviceTenant(context.db, deviceId);
    if (tenant === undefined) throw new HttpError('not_found', 'No such device.');
    assertTenantAccess(admin, tenant, 'device');
    return tenant;
  };
}
