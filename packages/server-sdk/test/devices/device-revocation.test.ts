// Revocation from outside, over real sockets and HTTP: the audited admin route, the open
// socket closed at once, every device path refused afterwards, and a revocation written
// behind the bus's back (no notice) still biting on the next frame.
import { randomUUID } from 'node:crypto';
import { createHelloFrame, type RealtimeFrame, SealKind } from '@fieldline/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type GatewayServer, startGatewayServer } from '../support/gateway-server.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  OPERATOR_TOKEN,
} from '../support/test-server.js';
import {
  challengeOf,
  connectDevice,
  type EnrolledDevice,
  enrollDevice,
  openSocket,
  type SocketClient,
  sealFromDevice,
} from '../support/ws-device.js';

function uuidv7(): string {
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Resolves with the close, or rejects when the socket is still open after `ms`. */
function closedWithin(client: SocketClient, ms: number) {
  return Promise.race([
    client.closed,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`the socket was still open after ${ms} ms`)), ms),
    ),
  ]);
}

async function sendEvents(client: SocketClient, device: EnrolledDevice) {
  const event = {
    id: uuidv7(),
    type: 'activity.app.launched',
    occurredAt: new Date().toISOString(),
    seq: 1,
    scope: 'activity',
    data: { app: 'calc' },
  };
  client.sendFrame({
    kind: 'message',
    id: randomUUID(),
    channel: 'events',
    type: 'batch',
    ts: Date.now(),
    sealed: await sealFromDevice(
      device,
      { batchId: randomUUID(), sentAt: new Date().toISOString(), events: [event] },
      SealKind.EventBatch,
    ),
  });
  return event.id;
}

describeEachDatabase('device revocation', (current) => {
  let server: GatewayServer;

  beforeAll(async () => {
    server = await startGatewayServer(current().db);
    await call(`${server.url}/v1/admin/policies`, {
      token: OPERATOR_TOKEN,
      body: { tenant: 'acme', version: 1, scopes: ['activity'], text: 'Activity.' },
    });
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  async function grantedDevice(): Promise<EnrolledDevice> {
    const device = await enrollDevice(server.url);
    await call(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
      body: { action: 'grant', scopes: ['activity'] },
    });
    return device;
  }

  it('revokes through an audited, idempotent route that closes the open socket and refuses every path', async () => {
    const device = await grantedDevice();
    const { client } = await connectDevice(server.url, device);
    const revokeUrl = `${server.url}/v1/admin/devices/${device.deviceId}/revoke`;

    // Another tenant's admin cannot even see the device.
    expect((await call(revokeUrl, { token: GLOBEX_ADMIN_TOKEN, body: {} })).status).toBe(404);

    const revoked = await call(revokeUrl, { token: ACME_ADMIN_TOKEN, method: 'POST' });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: device.deviceId, status: 'revoked', changed: true });
    expect(await closedWithin(client, 1_000)).toEqual({
      code: 4403,
      reason: 'device_revoked',
    });
    expect(client.frames.at(-1)).toMatchObject({ kind: 'error', code: 'device_revoked' });

    const again = await call(revokeUrl, { token: OPERATOR_TOKEN, method: 'POST' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ changed: false, revokedAt: revoked.body.revokedAt });

    const audit = await call(`${server.url}/v1/admin/audit?limit=1000`, { token: OPERATOR_TOKEN });
    const entries = (
      audit.body.entries as Array<{ action: string; subject: string; actor: string }>
    ).filter(
      (entry) => entry.action === 'device.revoke' && entry.subject === `device:${device.deviceId}`,
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]?.actor).toBe('admin:acme');

    const detail = await call(`${server.url}/v1/admin/devices/${device.deviceId}`, {
      token: OPERATOR_TOKEN,
    });
    expect(detail.body).toMatchObject({ status: 'revoked', revokedAt: revoked.body.revokedAt });

    // Every device path: config, events, reports, commands, command acks.
    const token = device.deviceToken;
    const sealed = await sealFromDevice(
      device,
      { batchId: randomUUID(), sentAt: new Date().toISOString(), events: [] },
      SealKind.EventBatch,
    );
    const answers = await Promise.all([
      call(`${server.url}/v1/config`, { token }),
      call(`${server.url}/v1/events`, { token, body: { sealed } }),
      call(`${server.url}/v1/reports`, { token, body: { sealed } }),
      call(`${server.url}/v1/commands`, { token }),
      call(`${server.url}/v1/commands/${randomUUID()}/ack`, { token, body: { status: 'acked' } }),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('device_revoked');
    }

    // A new hello is refused with 4403.
    const retry = await openSocket(server.url);
    retry.sendFrame(createHelloFrame(device.deviceId, device.identity, await challengeOf(retry)));
    expect(await retry.closed).toEqual({ code: 4403, reason: 'device_revoked' });
  });

  it('refuses the next frame of an open socket when the revocation came without a notice', async () => {
    const device = await grantedDevice();
    const { client } = await connectDevice(server.url, device);
    // Heartbeats are answered while the device stands.
    client.sendFrame({ kind: 'heartbeat', ts: Date.now() });
    await client.next((frame) => frame.kind === 'heartbeat');

    // Written straight to the database, as an operator script or another tool would: no bus
    // notice reaches the gateway, so only its standing re-check can catch it.
    await sql`update devices set status = 'revoked' where id = ${device.deviceId}`.execute(
      current().db,
    );
    const eventId = await sendEvents(client, device);
    expect(await client.closed).toEqual({ code: 4403, reason: 'device_revoked' });
    expect(client.frames.some((frame: RealtimeFrame) => frame.kind === 'message')).toBe(false);
    const stored = await current()
      .db.selectFrom('events')
      .select('id')
      .where('id', '=', eventId)
      .executeTakeFirst();
    expect(stored).toBeUndefined();
  });

  it('answers 404 for a device that does not exist and 401 without an admin token', async () => {
    expect(
      (
        await call(`${server.url}/v1/admin/devices/dev_nope/revoke`, {
          token: OPERATOR_TOKEN,
          method: 'POST',
        })
      ).status,
    ).toBe(404);
    const unauthenticated = await call(`${server.url}/v1/admin/devices/dev_nope/revoke`, {
      method: 'POST',
    });
    expect(unauthenticated.status).toBe(401);
  });
});
