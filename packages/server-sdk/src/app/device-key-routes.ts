import {
  publicKeysOf,
  REALTIME_CLOSE_CODES,
  ROUTES,
  rotateKeysRequestSchema,
} from '@fieldline/core';
import { authenticateDevice } from '../auth/device-auth.js';
import { announceStandingChange } from '../devices/announce-standing-change.js';
import { rotateDeviceKeys } from '../devices/rotate-device-keys.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

/**
 * `GET /v1/server-keys`: the server's current keys and the signed rotation chain (§5.5).
 *
 * `POST /v1/keys/rotate`: the device replaces its own keys (docs/protocol.md §5.3). It is the
 * one device route a required rotation lets through. Sockets still open under the old keys
 * are closed with 4401, so they come back with a hello signed by the new key.
 *
 * @param context - database, clock, replay guard, bus and admin events.
 */
export function deviceKeyRoutes(context: AppContext): Route[] {
  const { db, clock, replayGuard } = context;
  return [
    {
      // Public keys only: no credentials needed, and an agent can check the chain at any time.
      method: 'GET',
      path: ROUTES.serverKeys,
      async handle() {
        return json(200, {
          current: publicKeysOf(context.serverKeys.current),
          rotations: context.serverKeys.rotations,
        });
      },
    },
    {
      method: 'POST',
      path: ROUTES.rotateKeys,
      async handle(request) {
        const device = await authenticateDevice(db, request, { rotating: true });
        const body = readJsonBody(request, rotateKeysRequestSchema);
        const rotated = await rotateDeviceKeys(
          {
            id: device.id,
            tenantId: device.tenantId,
            keys: {
              signingPublicKey: device.signingPublicKey,
              encryptionPublicKey: device.encryptionPublicKey,
            },
          },
          body,
          { db, clock, replayGuard },
        );
        if (rotated.changed) {
          await announceStandingChange(
            context,
            { id: device.id, tenantId: device.tenantId },
            'keys_rotated',
            {
              closeCode: REALTIME_CLOSE_CODES.unauthenticated,
              reason: 'keys_rotated',
              exceptSigningPublicKey: rotated.publicKeys.signingPublicKey,
            },
            rotated.rotatedAt,
          ).catch(() => undefined);
        }
        return json(200, {
          deviceId: rotated.deviceId,
          publicKeys: rotated.publicKeys,
          rotatedAt: rotated.rotatedAt.toISOString(),
        });
      },
    },
  ];
}
