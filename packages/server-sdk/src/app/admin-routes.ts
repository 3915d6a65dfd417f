import {
  canonicalJson,
  createInstallTokenRequestSchema,
  ROUTES,
  setConfigRequestSchema,
  toConsentSnapshot,
} from '@fieldline/core';
import { appendAudit } from '../audit/append-audit.js';
import { announceConfigChange } from '../commands/built-in-commands.js';
import { resolveDeviceConfig, setConfig } from '../config/config-service.js';
import { currentConsent } from '../consent/current-consent.js';
import {
  deviceTenant,
  getDeviceDetail,
  listDeviceEvents,
  listDevices,
} from '../devices/device-queries.js';
import { createInstallToken } from '../enrollment/install-tokens.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { FieldlineRequest, Route } from '../http/types.js';
import { listDeviceReports } from '../reports/report-store.js';
import type { AppContext } from './app-context.js';
import { createDeviceAccess } from './device-access.js';

function limitParam(request: FieldlineRequest, fallback: number): number {
  const raw = request.query.get('limit');
  if (raw === null) return fallback;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new HttpError('invalid_request', 'limit must be an integer from 1 to 1000.');
  }
  return limit;
}

/**
 * The admin routes for install tokens and devices. Every route checks the
 * admin's tenant; another tenant's device is a 404, never a 403, so ids
 * cannot be probed.
 *
 * @param context - database, clock and admin authentication.
 */
export function adminDeviceRoutes(context: AppContext): Route[] {
  const { db, clock, authenticateAdmin } = context;

  const ownedDevice = createDeviceAccess(context);

  return [
    {
      method: 'POST',
      path: ROUTES.adminInstallTokens,
      async handle(request) {
        const admin = authenticateAdmin(request);
        const body = readJsonBody(request, createInstallTokenRequestSchema);
        if (admin.tenant !== null && admin.tenant !== body.tenant) {
          throw new HttpError('forbidden', `This admin token manages tenant ${admin.tenant} only.`);
        }
        const created = await createInstallToken(db, {
          tenantId: body.tenant,
          clock,
          actor: admin.actor,
          ...(body.ttlSeconds === undefined ? {} : { ttlSeconds: body.ttlSeconds }),
        });
        return json(201, created);
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminDevices,
      async handle(request) {
        const admin = authenticateAdmin(request);
        return json(200, { devices: await listDevices(db, admin.tenant, clock.now()) });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminDevice,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        await ownedDevice(request, deviceId);
        const detail = await getDeviceDetail(db, deviceId, clock.now());
        if (detail === undefined) throw new HttpError('not_found', 'No such device.');
        // The protocol's device detail carries the consent snapshot (deviceDetailSchema).
        const consent = toConsentSnapshot(await currentConsent(db, deviceId));
        return json(200, { ...detail, consent });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminDeviceEvents,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        await ownedDevice(request, deviceId);
        return json(200, {
          events: await listDeviceEvents(db, deviceId, limitParam(request, 100)),
        });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminDeviceReports,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        await ownedDevice(request, deviceId);
        return json(200, {
          reports: await listDeviceReports(db, deviceId, limitParam(request, 100)),
        });
      },
    },
    {
      method: 'PUT',
      path: ROUTES.adminConfig,
      async handle(request) {
        const admin = authenticateAdmin(request);
        const body = readJsonBody(request, setConfigRequestSchema);
        if (body.deviceId !== undefined) {
          await ownedDevice(request, body.deviceId);
          if ((await deviceTenant(db, body.deviceId)) !== body.tenant) {
            throw new HttpError('not_found', 'No such device in this tenant.');
          }
        } else if (admin.tenant !== null && admin.tenant !== body.tenant) {
          throw new HttpError('forbidden', `This admin token manages tenant ${admin.tenant} only.`);
        }
        await db
          .insertInto('tenants')
          .values({ id: body.tenant })
          .onConflict((oc) => oc.doNothing())
          .execute();
        const scope = {
          tenantId: body.tenant,
          ...(body.deviceId === undefined ? {} : { deviceId: body.deviceId }),
        };
        const previous = await db
          .selectFrom('configs')
          .select('config')
          .where('tenant_id', '=', body.tenant)
          .where('device_id', '=', body.deviceId ?? '')
          .executeTakeFirst();
        // The audit row commits with the change: a config nobody can account for never exists.
        await db.transaction().execute(async (trx) => {
          await setConfig(trx, scope, body.config);
          await appendAudit(
            trx,
            {
              tenantId: body.tenant,
              actor: admin.actor,
              action: 'config.changed',
              subject:
                body.deviceId === undefined ? `tenant:${body.tenant}` : `device:${body.deviceId}`,
              details: { config: body.config },
            },
            { clock },
          );
        });
        // Only a real change sends devices to refetch: rewriting the same config is a no-op.
        if (
          previous === undefined ||
          canonicalJson(previous.config) !== canonicalJson(body.config)
        ) {
          await announceConfigChange(context.commands, scope);
        }
        const { config } = await resolveDeviceConfig(db, body.tenant, body.deviceId ?? '');
        return json(200, config);
      },
    },
  ];
}
