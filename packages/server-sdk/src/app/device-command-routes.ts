import { commandAckRequestSchema, ROUTES } from '@fieldline/core';
import { authenticateDevice } from '../auth/device-auth.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { Route } from '../http/types.js';
import type { AppContext } from './app-context.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * The device side of durable commands over HTTP (docs/protocol.md §4.7):
 * `GET /v1/commands` is a delivery of every open command, and
 * `POST /v1/commands/:id/ack` answers one. Another device's command id is a
 * 404, like a missing one.
 *
 * @param context - the shared context, with its command outbox.
 */
export function deviceCommandRoutes(context: AppContext): Route[] {
  const { db, commands } = context;

  return [
    {
      method: 'GET',
      path: ROUTES.commands,
      async handle(request) {
        const device = await authenticateDevice(db, request);
        // Taking commands counts a delivery attempt; HEAD delivers nothing, so it takes none.
        if (request.method === 'HEAD') return { status: 200, headers: JSON_HEADERS };
        // Only due ones: a command sent on the socket a moment ago is not handed over again (and
        // counted) just because the device also spoke HTTP before its handler finished.
        const delivered = await commands.takeForDelivery(device.id, { onlyDue: true });
        await context.lastSeen.touch(device.id);
        return json(200, { commands: delivered });
      },
    },
    {
      method: 'POST',
      path: ROUTES.commandAck,
      async handle(request, params) {
        const device = await authenticateDevice(db, request);
        const answer = readJsonBody(request, commandAckRequestSchema);
        const record = await commands.ack(device.id, params.id ?? '', answer);
        await context.lastSeen.touch(device.id);
        if (record === undefined) throw new HttpError('not_found', 'No such command.');
        return json(200, record);
      },
    },
  ];
}
