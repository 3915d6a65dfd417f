import { broadcastCommandRequestSchema, createCommandRequestSchema, ROUTES } from '@fieldline/core';
import { assertTenantAccess } from '../auth/admin-auth.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';
import { createDeviceAccess } from './device-access.js';

/**
 * The admin side of durable commands (docs/protocol.md §4.7): create one for
 * a device, broadcast one to a tenant, read one. Creations are audited
 * (`command.created`, `command.broadcast`); another tenant's device or
 * command answers 404, a broadcast to another tenant 403.
 *
 * @param context - the shared context, with its command outbox.
 */
export function adminCommandRoutes(context: AppContext): Route[] {
  const { authenticateAdmin, commands } = context;
  const ownedDevice = createDeviceAccess(context);

  return [
    {
      method: 'POST',
      path: ROUTES.adminDeviceCommands,
      async handle(request, params) {
        const deviceId = params.id ?? '';
        await ownedDevice(request, deviceId);
        const { actor } = authenticateAdmin(request);
        const body = readJsonBody(request, createCommandRequestSchema);
        const record = await commands.create(deviceId, body, actor);
        return json(201, { id: record.id, status: record.status });
      },
    },
    {
      method: 'POST',
      path: ROUTES.adminBroadcast,
      async handle(request) {
        const admin = authenticateAdmin(request);
        const { tenant, ...command } = readJsonBody(request, broadcastCommandRequestSchema);
        if (admin.tenant !== null && admin.tenant !== tenant) {
          throw new HttpError('forbidden', `This admin token manages tenant ${admin.tenant} only.`);
        }
        const created = await commands.broadcast(tenant, command, admin.actor);
        return json(200, { count: created.count, ids: created.ids });
      },
    },
    {
      method: 'GET',
      path: ROUTES.adminCommand,
      async handle(request, params) {
        const admin = authenticateAdmin(request);
        const found = await commands.get(params.id ?? '');
        if (found === undefined) throw new HttpError('not_found', 'No such command.');
        assertTenantAccess(admin, found.tenantId, 'command');
        return json(200, found.record);
      },
    },
  ];
}
