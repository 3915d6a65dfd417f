import { enrollRequestSchema, ROUTES } from '@fieldline/core';
import { authenticateDevice } from '../auth/device-auth.js';
import { bearerToken } from '../auth/secret-tokens.js';
import { resolveDeviceConfig } from '../config/config-service.js';
import { initializeConsent } from '../consent/initialize-consent.js';
import { checkInstallToken } from '../enrollment/check-install-token.js';
import { enrollDevice } from '../enrollment/enroll-device.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

/**
 * `POST /v1/enroll` and `GET /v1/config`.
 *
 * @param context - database, clock and server identity.
 */
export function deviceRoutes(context: AppContext): Route[] {
  const { db, clock, serverIdentity } = context;
  return [
    {
      method: 'POST',
      path: ROUTES.enroll,
      async handle(request) {
        const token = bearerToken(request.header('authorization'));
        if (token === undefined) {
          throw new HttpError(
            'unauthenticated',
            'Send the install token as "Authorization: Bearer <token>".',
          );
        }
        // The token is checked before the body is parsed (docs/protocol.md §2).
        await checkInstallToken(db, token, new Date(clock.now()));
        const body = readJsonBody(request, enrollRequestSchema);
        return json(
          201,
          await enrollDevice(db, token, body, {
            clock,
            serverIdentity,
            // The ledger records the new device as pending on the tenant's policy (if any),
            // in the same transaction as the device row.
            initialConsent: (trx, device) =>
              initializeConsent(
                trx,
                { tenantId: device.tenantId, deviceId: device.id },
                { ...context.consentOptions, clock },
              ),
          }),
        );
      },
    },
    {
      method: 'GET',
      path: ROUTES.config,
      async handle(request) {
        const device = await authenticateDevice(db, request);
        const { config, etag } = await resolveDeviceConfig(db, device.tenantId, device.id);
        const cache = { etag, 'cache-control': 'no-cache' };
        const ifNoneMatch = request.header('if-none-match');
        if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) {
          return { status: 304, headers: cache };
        }
        return json(200, config, cache);
      },
    },
  ];
}
