// The command routes over real HTTP on a real database: admins create, read
// and broadcast commands; devices take them with GET /v1/commands or with the
// answer to POST /v1/events and ack them; consent and config changes queue
// the built-in commands; tenants stay apart.
import { randomUUID } from 'node:crypto';
import { SealKind } from '@fieldline/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_TOPICS } from '../../src/cluster/cluster-bus.js';
import { parseCommandNotice } from '../../src/commands/command-notice.js';
import {
  enrollDevice,
  type FuzzDevice,
  grantConsent,
  publishPolicy,
  sealedBodyText,
  sealFrame,
  send,
  uuidv7,
} from '../fuzz/fuzz-fixture.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';
import { insertDevices, recordBus, revokeDevice } from './command-fixtures.js';

interface DeliveredCommand {
  id: string;
  type: string;
  body?: unknown;
}

describeEachDatabase('command routes over HTTP', (current) => {
  let server: TestServer;
  let acme: FuzzDevice;
  let acmeSecond: FuzzDevice;
  let globex: FuzzDevice;

  async function createCommand(deviceId: string, body: unknown, token = OPERATOR_TOKEN) {
    return call(`${server.url}/v1/admin/devices/${deviceId}/commands`, { token, body });
  }

  async function poll(device: FuzzDevice): Promise<DeliveredCommand[]> {
    const answer = await call(`${server.url}/v1/commands`, { token: device.deviceToken });
    expect(answer.status).toBe(200);
    return answer.body.commands;
  }

  async function ack(device: FuzzDevice, id: string, body: unknown) {
    return call(`${server.url}/v1/commands/${encodeURIComponent(id)}/ack`, {
      token: device.deviceToken,
      body,
    });
  }

  async function record(id: string, token = OPERATOR_TOKEN) {
    return call(`${server.url}/v1/admin/commands/${encodeURIComponent(id)}`, { token });
  }

  /** Acks every open command of the device, so the next test starts from an empty outbox. */
  async function drain(device: FuzzDevice): Promise<DeliveredCommand[]> {
    const commands = await poll(device);
    for (const command of commands) await ack(device, command.id, { status: 'acked' });
    return commands;
  }

  beforeAll(async () => {
    server = await startTestServer(current().db);
    await publishPolicy(server, 'acme', 1, ['activity', 'network']);
    await publishPolicy(server, 'globex', 1, ['activity']);
    acme = await enrollDevice(server, 'acme');
    acmeSecond = await enrollDevice(server, 'acme');
    globex = await enrollDevice(server, 'globex');
    await grantConsent(server, acme.deviceId, ['activity']);
    for (const device of [acme, acmeSecond, globex]) await drain(device);
  }, 60_000);
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  describe('admin routes', () => {
    it('creates a command (201 { id, status }), serves its record and audits the creation', async () => {
      const created = await createCommand(acme.deviceId, {
        type: 'deploy',
        body: { version: '2.1.0' },
        ttlSeconds: 120,
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ id: expect.stringMatching(/^cmd_/), status: 'pending' });
      const { id } = created.body;
      for (const token of [OPERATOR_TOKEN, ACME_ADMIN_TOKEN]) {
        const read = await record(id, token);
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({
          id,
          deviceId: acme.deviceId,
          type: 'deploy',
          status: 'pending',
          attempts: 0,
          maxAttempts: 3,
          ackedAt: null,
          reason: null,
        });
        expect(Date.parse(read.body.expiresAt) - Date.parse(read.body.createdAt)).toBe(120_000);
      }
      const audit = await call(`${server.url}/v1/admin/audit?limit=1000`, {
        token: ACME_ADMIN_TOKEN,
      });
      const entry = audit.body.entries.find(
        (e: { action: string; details: { commandId?: string } }) =>
          e.action === 'command.created' && e.details.commandId === id,
      );
      expect(entry).toMatchObject({
        tenant: 'acme',
        actor: 'admin',
        subject: `device:${acme.deviceId}`,
        details: { commandId: id, type: 'deploy' },
      });
      await drain(acme);
    });

    it("keeps tenants apart: another tenant's device and command are 404, its broadcast 403", async () => {
      const foreignCreate = await createCommand(
        acme.deviceId,
        { type: 'ping' },
        GLOBEX_ADMIN_TOKEN,
      );
      expect(foreignCreate.status).toBe(404);
      expect(foreignCreate.body.error.code).toBe('not_found');

      const { body } = await createCommand(acme.deviceId, { type: 'ping' }, ACME_ADMIN_TOKEN);
      const foreignRead = await record(body.id, GLOBEX_ADMIN_TOKEN);
      expect(foreignRead.status).toBe(404);
      expect(foreignRead.body.error.code).toBe('not_found');
      const missing = await record('cmd_does_not_exist', OPERATOR_TOKEN);
      expect(missing.status).toBe(404);

      const foreignBroadcast = await call(`${server.url}/v1/admin/commands/broadcast`, {
        token: ACME_ADMIN_TOKEN,
        body: { tenant: 'globex', type: 'ping' },
      });
      expect(foreignBroadcast.status).toBe(403);
      expect(foreignBroadcast.body.error.code).toBe('forbidden');
      expect(await poll(globex)).toEqual([]);
      await drain(acme);
    });

    it('answers 409 conflict for a revoked device and 400 for a bad body', async () => {
      const [revoked] = await insertDevices(current().db, 'acme', 1);
      await revokeDevice(current().db, revoked as string);
      const refused = await createCommand(revoked as string, { type: 'ping' });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('conflict');
      for (const bad of [{}, { type: '' }, { type: 'ping', ttlSeconds: 0 }, { type: 'x', y: 1 }]) {
        const answer = await createCommand(acme.deviceId, bad);
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe('invalid_request');
      }
      expect(await poll(acme)).toEqual([]);
    });

    it('broadcasts to every active device of a tenant (300): each gets exactly one, announced on the bus', async () => {
      const fleet = await insertDevices(current().db, 'fleet', 300);
      await revokeDevice(current().db, fleet[0] as string);
      const active = fleet.slice(1);
      const recorder = recordBus(server.app.context.bus, [BUS_TOPICS.commands]);
      const answer = await call(`${server.url}/v1/admin/commands/broadcast`, {
        token: OPERATOR_TOKEN,
        body: { tenant: 'fleet', type: 'ping', body: { wave: 1 } },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.count).toBe(299);
      expect(new Set(answer.body.ids).size).toBe(299);
      const perDevice = await current()
        .db.selectFrom('commands')
        .select(['device_id', (eb) => eb.fn.countAll<string>().as('n')])
        .where('tenant_id', '=', 'fleet')
        .groupBy('device_id')
        .execute();
      expect(perDevice.map((row) => row.device_id).sort()).toEqual(active);
      expect(perDevice.every((row) => Number(row.n) === 1)).toBe(true);
      await recorder.settle();
      expect(recorder.of(BUS_TOPICS.commands).flatMap(parseCommandNotice).sort()).toEqual(active);
      recorder.stop();
      const delivered = await server.app.context.commands.takeForDelivery(active[7] as string);
      expect(delivered).toMatchObject([{ type: 'ping', body: { wave: 1 } }]);

      const audit = await call(`${server.url}/v1/admin/audit?limit=1000`, {
        token: OPERATOR_TOKEN,
      });
      expect(
        audit.body.entries.find((e: { action: string }) => e.action === 'command.broadcast'),
      ).toMatchObject({ tenant: 'fleet', details: { count: 299, type: 'ping' } });
    });
  });

  describe('device routes', () => {
    it('delivers with GET /v1/commands, counting the delivery, and takes the ack', async () => {
      const { body } = await createCommand(acme.deviceId, { type: 'deploy', body: [1, 2] });
      const first = await poll(acme);
      expect(first).toEqual([
        {
          id: body.id,
          type: 'deploy',
          body: [1, 2],
          issuedAt: expect.any(String),
          expiresAt: expect.any(String),
        },
      ]);
      // Sent and within its ack timeout: not handed over (nor counted) again.
      expect(await poll(acme)).toEqual([]);
      expect((await record(body.id)).body).toMatchObject({ status: 'sent', attempts: 1 });
      // Only the device's own commands.
      expect(await poll(acmeSecond)).toEqual([]);

      const acked = await ack(acme, body.id, { status: 'rejected', reason: 'disk full' });
      expect(acked.status).toBe(200);
      expect(acked.body).toMatchObject({
        id: body.id,
        status: 'rejected',
        reason: 'disk full',
        attempts: 1,
      });
      expect(acked.body.ackedAt).not.toBeNull();
      // A final command: a second ack changes nothing and answers the record.
      const again = await ack(acme, body.id, { status: 'acked' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(acked.body);
      expect(await poll(acme)).toEqual([]);
    });

    it("answers 404 for another device's command and an unknown id, 400 for a bad ack", async () => {
      const { body } = await createCommand(acme.deviceId, { type: 'ping' });
      const foreign = await ack(globex, body.id, { status: 'acked' });
      expect(foreign.status).toBe(404);
      expect(foreign.body.error.code).toBe('not_found');
      expect((await ack(acmeSecond, body.id, { status: 'acked' })).status).toBe(404);
      expect((await ack(acme, 'cmd_nope', { status: 'acked' })).status).toBe(404);
      for (const bad of [{}, { status: 'done' }, { status: 'acked', extra: true }]) {
        const answer = await ack(acme, body.id, bad);
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe('invalid_request');
      }
      expect((await record(body.id)).body).toMatchObject({ status: 'pending', ackedAt: null });
      const unauthenticated = await call(`${server.url}/v1/commands`);
      expect(unauthenticated.status).toBe(401);
      await drain(acme);
    });

    it('delivers with the answer to POST /v1/events, which counts as a delivery', async () => {
      const { body } = await createCommand(acme.deviceId, { type: 'ping', body: 'hi' });
      const frame = await sealFrame(acme, SealKind.EventBatch, {
        batchId: randomUUID(),
        sentAt: new Date().toISOString(),
        events: [
          {
            id: uuidv7(),
            type: 'activity.app.launched',
            occurredAt: new Date().toISOString(),
            seq: 1,
            scope: 'activity',
            data: { app: 'calc' },
          },
        ],
      });
      const answer = await send(`${server.url}/v1/events`, {
        token: acme.deviceToken,
        body: sealedBodyText(frame),
        headers: { 'content-type': 'application/json' },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.results[0].status).toBe('accepted');
      expect(answer.body.commands).toMatchObject([{ id: body.id, type: 'ping', body: 'hi' }]);
      expect((await record(body.id)).body).toMatchObject({ status: 'sent', attempts: 1 });
      expect((await ack(acme, body.id, { status: 'acked' })).body.status).toBe('acked');
    });
  });

  describe('built-in commands', () => {
    it('queues consent.withdrawn when an admin withdraws, with the snapshot the route answered', async () => {
      const recorder = recordBus(server.app.context.bus, [BUS_TOPICS.adminEvents]);
      const withdrawn = await call(`${server.url}/v1/admin/devices/${acme.deviceId}/consent`, {
        token: ACME_ADMIN_TOKEN,
        body: { action: 'withdraw' },
      });
      expect(withdrawn.status).toBe(200);
      const commands = await poll(acme);
      expect(commands).toMatchObject([
        { type: 'consent.withdrawn', body: { consent: withdrawn.body } },
      ]);
      await recorder.settle();
      const events = recorder.of(BUS_TOPICS.adminEvents) as Array<{
        event: string;
        data: Record<string, unknown>;
      }>;
      expect(events.find((e) => e.event === 'consent')?.data).toMatchObject({
        deviceId: acme.deviceId,
        tenantId: 'acme',
        consent: withdrawn.body,
      });
      expect(events.find((e) => e.event === 'command')?.data).toMatchObject({
        deviceId: acme.deviceId,
        tenantId: 'acme',
        type: 'consent.withdrawn',
        status: 'pending',
      });
      recorder.stop();
      await drain(acme);

      const granted = await call(`${server.url}/v1/admin/devices/${acme.deviceId}/consent`, {
        token: ACME_ADMIN_TOKEN,
        body: { action: 'grant', scopes: ['activity'] },
      });
      expect(granted.status).toBe(200);
      expect(await drain(acme)).toMatchObject([
        { type: 'consent.updated', body: { consent: granted.body } },
      ]);
    });

    it('queues nothing when the consent change is refused', async () => {
      const refused = await call(`${server.url}/v1/admin/devices/${acme.deviceId}/consent`, {
        token: ACME_ADMIN_TOKEN,
        body: { action: 'grant', scopes: ['not-in-policy'] },
      });
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(await poll(acme)).toEqual([]);
    });

    it('queues consent.updated with the new snapshot for every active device when a policy is published', async () => {
      const [revoked] = await insertDevices(current().db, 'acme', 1);
      await revokeDevice(current().db, revoked as string);
      await publishPolicy(server, 'acme', 2, ['activity']);
      for (const device of [acme, acmeSecond]) {
        expect(await drain(device)).toMatchObject([
          { type: 'consent.updated', body: { consent: { status: 'pending', policyVersion: 2 } } },
        ]);
      }
      expect(await server.app.context.commands.takeForDelivery(revoked as string)).toEqual([]);
      expect(await poll(globex)).toEqual([]);
    });

    it('queues config.updated for the device, or every device of the tenant, when the config changes', async () => {
      const put = (body: unknown) =>
        call(`${server.url}/v1/admin/config`, { method: 'PUT', token: ACME_ADMIN_TOKEN, body });
      expect(
        (
          await put({
            tenant: 'acme',
            deviceId: acme.deviceId,
            config: { heartbeatIntervalMs: 30_000 },
          })
        ).status,
      ).toBe(200);
      expect(await drain(acme)).toMatchObject([{ type: 'config.updated', body: {} }]);
      expect(await poll(acmeSecond)).toEqual([]);
      // The same config again is no change.
      await put({
        tenant: 'acme',
        deviceId: acme.deviceId,
        config: { heartbeatIntervalMs: 30_000 },
      });
      expect(await poll(acme)).toEqual([]);

      expect((await put({ tenant: 'acme', config: { heartbeatIntervalMs: 45_000 } })).status).toBe(
        200,
      );
      for (const device of [acme, acmeSecond]) {
        expect(await drain(device)).toMatchObject([{ type: 'config.updated', body: {} }]);
      }
      expect(await poll(globex)).toEqual([]);
    });
  });
});
