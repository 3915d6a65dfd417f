import { REALTIME_CLOSE_CODES, ROUTES } from '@fieldline/core';
import type { AdminPrincipal } from '../auth/admin-auth.js';
import { announceStandingChange } from '../devices/announce-standing-change.js';
import {
  type DeviceStandingResult,
  releaseDevice,
  requireKeyRotation,
} from '../devices/device-standing-changes.js';
import { revokeDevice } from '../devices/revoke-device.js';
import { HttpError } from '../http/http-error.js';
import { json } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';
import { createDeviceAccess } from './device-access.js';

/**
 * Who the audit log records for an admin request: the principal's `actor` (`admin` for the
 * operator, `admin:<tenant>` for a tenant's admin, or the credential's `name`).
 *
 * @param admin - the authenticated admin.
 * @returns the actor.
 */
export function adminActor(admin: AdminPrincipal): string {
  return admin.actor;
}

// The answer of the rotate-keys and release routes (deviceStandingResponseSchema).
function standingBody(result: DeviceStandingResult) {
  return {
    id: result.id,
    keyRotationRequired: result.keyRotationRequired,
    quarantinedAt: result.quarantinedAt?.toISOString() ?? null,
    changed: result.changed,
  };
}

/**
 * The admin routes that change what a device may do (docs/protocol.md §5): revoke it, force
 * a key rotation, release it from clone quarantine. Each is audited in the transaction that
 * makes the change, idempotent, and closes the device's sockets on every instance when the
 * change refuses it.
 *
 * @param context - database, clock, admin authentication, bus and admin events.
 */
export function adminDeviceStandingRoutes(context: AppContext): Route[] {
  const { db, clock } = context;
  const ownedDevice = createDeviceAccess(context);
  // The change is committed and audited; a lost notice only delays the close, because the
  // gateway re-reads the device's standing before every stored frame.
  const onError = (): void => undefined;

  return [
    {
      method: 'POST',
      path: ROUTES.adminDeviceRevoke,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        await ownedDevice(request, deviceId);
        const actor = adminActor(context.authenticateAdmin(request));
        const result = await revokeDevice(db, deviceId, { actor, clock });
        if (result === undefined) throw new HttpError('not_found', 'No such device.');
        // Sent even when already revoked: a retry after a lost notice still closes sockets.
        await announceStandingChange(
          context,
          { id: deviceId, tenantId: result.tenantId },
          'revoked',
          { closeCode: REALTIME_CLOSE_CODES.deviceRevoked, reason: 'device_revoked' },
          result.revokedAt,
        ).catch(onError);
        return json(200, {
          id: deviceId,
          status: 'revoked',
          revokedAt: result.revokedAt.toISOString(),
          changed: result.changed,
        });
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminDeviceRotateKeys,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        await ownedDevice(request, deviceId);
        const actor = adminActor(context.authenticateAdmin(request));
        const result = await requireKeyRotation(db, deviceId, { actor, clock });
        if (result === undefined) throw new HttpError('not_found', 'No such device.');
        if (result.changed) {
          await announceStandingChange(
            context,
            { id: deviceId, tenantId: result.tenantId },
            'rotation_required',
            {
              closeCode: REALTIME_CLOSE_CODES.keyRotationRequired,
              reason: 'key_rotation_required',
            },
            new Date(clock.now()),
          ).catch(onError);
        }
        return json(200, standingBody(result));
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminDeviceRelease,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        await ownedDevice(request, deviceId);
        const actor = adminActor(context.authenticateAdmin(request));
        const result = await releaseDevice(db, deviceId, { actor, clock });
        if (result === undefined) throw new HttpError('not_found', 'No such device.');
        if (result.changed) {
          await announceStandingChange(
            context,
            { id: deviceId, tenantId: result.tenantId },
            'released',
            undefined,
            new Date(clock.now()),
          ).catch(onError);
        }
        return json(200, standingBody(result));
      },
    },
  ];
}
