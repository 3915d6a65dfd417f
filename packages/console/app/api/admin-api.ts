import type { z } from 'zod';
import { requestJson } from './request-json.js';
import {
  createInstallTokenResponseSchema,
  type deviceSummarySchema,
  listDevicesResponseSchema,
  ROUTES,
  type SessionResponse,
} from './schemas.js';
import { SESSION_CSRF_HEADER } from './session-api.js';

/** A device as the console lists it. */
export type DeviceRow = z.infer<typeof deviceSummarySchema>;

/** A fresh install token. */
export type InstallToken = z.infer<typeof createInstallTokenResponseSchema>;

/**
 * The devices the session may see.
 *
 * @returns them, as `GET /v1/admin/devices` lists them.
 */
export async function listDevices(): Promise<readonly DeviceRow[]> {
  const answer = await requestJson({
    path: ROUTES.adminDevices,
    schema: listDevicesResponseSchema,
  });
  return answer.devices;
}

/**
 * Issues a one-time install token.
 *
 * @param session - the session (its CSRF token; its tenant, unless the owner picks one).
 * @param tenant - the tenant the device will join.
 * @returns the token, shown once.
 */
export function createInstallToken(
  session: SessionResponse,
  tenant: string,
): Promise<InstallToken> {
  return requestJson({
    method: 'POST',
    path: ROUTES.adminInstallTokens,
    headers: { [SESSION_CSRF_HEADER]: session.csrfToken },
    body: { tenant },
    schema: createInstallTokenResponseSchema,
  });
}
