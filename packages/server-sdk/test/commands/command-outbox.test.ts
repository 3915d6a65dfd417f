// The durable command outbox on real databases with a fake clock: the
// lifecycle of docs/protocol.md §4.7 (deliveries, acks, attempts, TTL), the
// bus messages it publishes, and concurrent delivery rounds.
import { createFakeClock, type FakeClock } from '@fieldline/core/testing';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BUS_TOPICS, type ClusterBus } from '../../src/cluster/cluster-bus.js';
import { createMemoryBus } from '../../src/cluster/memory-bus.js';
import { parseCommandNotice } from '../../src/commands/command-notice.js';
import { type CommandOutbox, createCommandOutbox } from '../../src/commands/command-outbox.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { insertDevices, recordBus, revokeDevice } from './command-fixtures.js';

const START = Date.UTC(2026, 0, 1);

describeEachDatabase('command outbox', (current) => {
  let clock: FakeClock;
  let bus: ClusterBus;
  let outbox: CommandOutbox;
  let deviceId: string;
  let otherDeviceId: string;

  beforeAll(async () => {
    const ids = await insertDevices(current().db, 'outbox', 2);
    deviceId = ids[0] as string;
    otherDeviceId = ids[1] as string;
  });

  beforeEach(async () => {
    // Every test starts with an empty outbox and time at the same instant.
    await current().db.deleteFrom('commands').execute();
    clock = createFakeClock({ nowMs: START });
    bus = createMemoryBus();
    outbox = createCommandOutbox({
      db: current().db,
      clock,
      bus,
      defaults: { ttlSeconds: 600, maxAttempts: 3, ackTimeoutMs: 30_000 },
    });
  });

  async function status(id: string) {
    return (await outbox.get(id))?.record;
  }

  describe('lifecycle', () => {
    it('goes pending → sent → acked, counting the delivery and recording the ack time', async () => {
      const created = await outbox.create(deviceId, { type: 'deploy', body: { version: '2.1.0' } });
      expect(created).toEqual({
        id: expect.stringMatching(/^cmd_[A-Za-z0-9_-]{16}$/),
        deviceId,
        type: 'deploy',
        status: 'pending',
        attempts: 0,
        maxAttempts: 3,
        createdAt: new Date(START).toISOString(),
        expiresAt: new Date(START + 600_000).toISOString(),
        ackedAt: null,
        reason: null,
      });
      expect(await status(created.id)).toEqual(created);

      clock.advance(1000);
      const delivered = await outbox.takeForDelivery(deviceId);
      expect(delivered).toEqual([
        {
          id: created.id,
          type: 'deploy',
          body: { version: '2.1.0' },
          issuedAt: created.createdAt,
          expiresAt: created.expiresAt,
        },
      ]);
      expect(await status(created.id)).toMatchObject({ status: 'sent', attempts: 1 });

      clock.advance(1000);
      const acked = await outbox.ack(deviceId, created.id, { status: 'acked' });
      expect(acked).toEqual({
        ...created,
        status: 'acked',
        attempts: 1,
        ackedAt: new Date(START + 2000).toISOString(),
      });
      expect(await status(created.id)).toEqual(acked);
      // An acked command is never handed over again.
      expect(await outbox.takeForDelivery(deviceId)).toEqual([]);
    });

    it('records a rejection with the reason from the device', async () => {
      const { id } = await outbox.create(deviceId, { type: 'self-destruct' });
      await outbox.takeForDelivery(deviceId);
      const rejected = await outbox.ack(deviceId, id, {
        status: 'rejected',
        reason: 'unknown_command',
      });
      expect(rejected).toMatchObject({
        status: 'rejected',
        reason: 'unknown_command',
        ackedAt: new Date(START).toISOString(),
      });
    });

    it('accepts an ack of a command that was never delivered', async () => {
      const { id } = await outbox.create(deviceId, { type: 'ping' });
      expect(await outbox.ack(deviceId, id, { status: 'acked' })).toMatchObject({
        status: 'acked',
        attempts: 0,
      });
    });

    it('leaves a final command unchanged on a later ack and answers its record', async () => {
      const { id } = await outbox.create(deviceId, { type: 'ping' });
      await outbox.takeForDelivery(deviceId);
      const first = await outbox.ack(deviceId, id, { status: 'rejected', reason: 'busy' });
      clock.advance(5000);
      const again = await outbox.ack(deviceId, id, { status: 'acked', reason: 'changed my mind' });
      expect(again).toEqual(first);
      expect(await status(id)).toEqual(first);
    });

    it("answers undefined for another device's command and for an unknown id, changing nothing", async () => {
      const { id } = await outbox.create(deviceId, { type: 'ping' });
      expect(await outbox.ack(otherDeviceId, id, { status: 'acked' })).toBeUndefined();
      expect(await outbox.ack(deviceId, 'cmd_unknown', { status: 'acked' })).toBeUndefined();
      expect(await status(id)).toMatchObject({ status: 'pending', ackedAt: null });
      expect(await outbox.get('cmd_unknown')).toBeUndefined();
    });

    it('returns the tenant with the record, for routes to scope by', async () => {
      const { id } = await outbox.create(deviceId, { type: 'ping' });
      expect(await outbox.get(id)).toMatchObject({ tenantId: 'outbox', record: { id } });
    });

    it('refuses unknown and revoked devices and bad TTLs', async () => {
      await expect(outbox.create('dev_missing', { type: 'ping' })).rejects.toMatchObject({
        code: 'not_found',
        status: 404,
      });
      const [revoked] = await insertDevices(current().db, 'outbox', 1);
      await revokeDevice(current().db, revoked as string);
      await expect(outbox.create(revoked as string, { type: 'ping' })).rejects.toMatchObject({
        code: 'conflict',
        status: 409,
      });
      await expect(outbox.create(deviceId, { type: 'ping', ttlSeconds: 0 })).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      expect(await current().db.selectFrom('commands').selectAll().execute()).toEqual([]);
    });

    it('refuses defaults that are not positive integers', () => {
      for (const defaults of [{ ttlSeconds: 0 }, { maxAttempts: 1.5 }, { ackTimeoutMs: -1 }]) {
        expect(() => createCommandOutbox({ db: current().db, bus, defaults })).toThrow(
          /positive integer/,
        );
      }
    });
  });

  describe('redelivery, attempts and TTL', () => {
    it('adds one attempt per delivery and fails the command when the next would exceed maxAttempts', async () => {
      const { id } = await outbox.create(deviceId, { type: 'deploy' });
      for (let attempt = 1; attempt <= 3; attempt++) {
        expect((await outbox.takeForDelivery(deviceId)).map((c) => c.id)).toEqual([id]);
        expect(await status(id)).toMatchObject({ status: 'sent', attempts: attempt });
      }
      expect(await outbox.takeForDelivery(deviceId)).toEqual([]);
      expect(await status(id)).toMatchObject({ status: 'failed', attempts: 3 });
      // The server gave up, but the device's late answer is what happened: it is recorded.
      clock.advance(1000);
      expect(await outbox.ack(deviceId, id, { status: 'acked' })).toMatchObject({
        status: 'acked',
        attempts: 3,
        ackedAt: new Date(START + 1000).toISOString(),
      });
    });

    it('redelivers a sent command in an onlyDue round only once the ack timeout passed', async () => {
      const { id } = await outbox.create(deviceId, { type: 'deploy' });
      expect(await outbox.takeForDelivery(deviceId, { onlyDue: true })).toHaveLength(1);
      clock.advance(29_999);
      expect(await outbox.takeForDelivery(deviceId, { onlyDue: true })).toEqual([]);
      expect(await status(id)).toMatchObject({ attempts: 1 });
      clock.advance(1);
      expect((await outbox.takeForDelivery(deviceId, { onlyDue: true })).map((c) => c.id)).toEqual([
        id,
      ]);
      expect(await status(id)).toMatchObject({ status: 'sent', attempts: 2 });
      // A round without onlyDue (a reconnect, an HTTP poll) hands it over at once.
      expect(await outbox.takeForDelivery(deviceId)).toHaveLength(1);
      expect(await status(id)).toMatchObject({ attempts: 3 });
    });

    it('does not fail a command on its last attempt while its ack may still come', async () => {
      const { id } = await outbox.create(deviceId, { type: 'deploy' });
      for (let attempt = 0; attempt < 3; attempt++) await outbox.takeForDelivery(deviceId);
      clock.advance(10_000);
      expect(await outbox.takeForDelivery(deviceId, { onlyDue: true })).toEqual([]);
      expect(await status(id)).toMatchObject({ status: 'sent', attempts: 3 });
      expect(await outbox.ack(deviceId, id, { status: 'acked' })).toMatchObject({
        status: 'acked',
      });
    });

    it('expires a command once its TTL passed, in the next round', async () => {
      const short = await outbox.create(deviceId, { type: 'ping', ttlSeconds: 60 });
      clock.advance(1);
      const long = await outbox.create(deviceId, { type: 'ping', ttlSeconds: 3600 });
      expect(short.expiresAt).toBe(new Date(START + 60_000).toISOString());
      await outbox.takeForDelivery(deviceId);
      clock.advance(59_998);
      expect((await outbox.takeForDelivery(deviceId)).map((c) => c.id)).toEqual([
        short.id,
        long.id,
      ]);
      clock.advance(1);
      expect((await outbox.takeForDelivery(deviceId)).map((c) => c.id)).toEqual([long.id]);
      expect(await status(short.id)).toMatchObject({ status: 'expired', attempts: 2 });
      // A late answer to a delivered command is recorded even after it expired.
      expect(await outbox.ack(deviceId, short.id, { status: 'rejected' })).toMatchObject({
        status: 'rejected',
        attempts: 2,
      });
    });

    it('ignores an ack of an expired command that was never delivered', async () => {
      const { id } = await outbox.create(deviceId, { type: 'ping', ttlSeconds: 60 });
      clock.advance(60_000);
      expect(await outbox.expireDue()).toBe(1);
      expect(await outbox.ack(deviceId, id, { status: 'acked' })).toMatchObject({
        status: 'expired',
        attempts: 0,
        ackedAt: null,
      });
    });

    it('takes back deliveries that never left the server, leaving answered commands alone', async () => {
      const first = await outbox.create(deviceId, { type: 'ping' });
      const second = await outbox.create(deviceId, { type: 'ping' });
      await outbox.takeForDelivery(deviceId);
      await outbox.ack(deviceId, second.id, { status: 'acked' });
      await outbox.returnUndelivered(deviceId, [first.id, second.id]);
      expect(await status(first.id)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await status(second.id)).toMatchObject({ status: 'acked', attempts: 1 });
      // Pending again, so it is due at once; a second delivery taken back leaves the first.
      await outbox.takeForDelivery(deviceId, { onlyDue: true });
      await outbox.takeForDelivery(deviceId);
      expect(await status(first.id)).toMatchObject({ status: 'sent', attempts: 2 });
      await outbox.returnUndelivered(deviceId, [first.id]);
      expect(await status(first.id)).toMatchObject({ status: 'sent', attempts: 1 });
      // Another device's command is not touched.
      await outbox.returnUndelivered(otherDeviceId, [first.id]);
      expect(await status(first.id)).toMatchObject({ status: 'sent', attempts: 1 });
    });

    it('sweeps expired commands of every device with expireDue', async () => {
      const a = await outbox.create(deviceId, { type: 'ping', ttlSeconds: 10 });
      const b = await outbox.create(otherDeviceId, { type: 'ping', ttlSeconds: 10 });
      const live = await outbox.create(otherDeviceId, { type: 'ping', ttlSeconds: 20 });
      await outbox.takeForDelivery(deviceId);
      const acked = await outbox.create(deviceId, { type: 'ping', ttlSeconds: 10 });
      await outbox.ack(deviceId, acked.id, { status: 'acked' });
      clock.advance(10_000);
      const recorder = recordBus(bus, [BUS_TOPICS.adminEvents]);
      expect(await outbox.expireDue()).toBe(2);
      expect(await outbox.expireDue()).toBe(0);
      expect(await status(a.id)).toMatchObject({ status: 'expired' });
      expect(await status(b.id)).toMatchObject({ status: 'expired' });
      expect(await status(live.id)).toMatchObject({ status: 'pending' });
      expect(await status(acked.id)).toMatchObject({ status: 'acked' });
      expect(
        recorder
          .of(BUS_TOPICS.adminEvents)
          .map((event) => (event as { data: { id: string; status: string } }).data)
          .map(({ id, status }) => `${id}:${status}`)
          .sort(),
      ).toEqual([`${a.id}:expired`, `${b.id}:expired`].sort());
      recorder.stop();
    });

    it('hands over at most 100 commands a round, oldest first', async () => {
      const ids: string[] = [];
      for (let index = 0; index < 105; index++) {
        ids.push((await outbox.create(deviceId, { type: 'ping', body: index })).id);
        clock.advance(1);
      }
      const first = await outbox.takeForDelivery(deviceId, { onlyDue: true });
      expect(first.map((c) => c.id)).toEqual(ids.slice(0, 100));
      const second = await outbox.takeForDelivery(deviceId, { onlyDue: true });
      expect(second.map((c) => c.id)).toEqual(ids.slice(100));
      expect(second.map((c) => c.body)).toEqual([100, 101, 102, 103, 104]);
    });
  });

  describe('bus messages', () => {
    it('announces a new command and publishes an admin event for every status change', async () => {
      const recorder = recordBus(bus, [BUS_TOPICS.commands, BUS_TOPICS.adminEvents]);
      const { id } = await outbox.create(deviceId, { type: 'deploy' });
      expect(recorder.of(BUS_TOPICS.commands)).toEqual([{ deviceId }]);
      await outbox.takeForDelivery(deviceId);
      clock.advance(31_000);
      await outbox.takeForDelivery(deviceId, { onlyDue: true });
      clock.advance(1000);
      await outbox.ack(deviceId, id, { status: 'acked' });
      await outbox.ack(deviceId, id, { status: 'rejected' });
      await recorder.settle();
      const event = (status: string, atMs: number) => ({
        event: 'command',
        data: {
          id,
          deviceId,
          tenantId: 'outbox',
          type: 'deploy',
          status,
          at: new Date(atMs).toISOString(),
        },
      });
      // The redelivery (sent again) and the ack of a final command are not changes.
      expect(recorder.of(BUS_TOPICS.adminEvents)).toEqual([
        event('pending', START),
        event('sent', START),
        event('acked', START + 32_000),
      ]);
      expect(recorder.of(BUS_TOPICS.commands)).toHaveLength(1);
      recorder.stop();
    });

    it('publishes failures and keeps the command stored when the bus fails', async () => {
      const failures: unknown[] = [];
      const brokenBus: ClusterBus = {
        publish: async () => {
          throw new Error('bus down');
        },
        subscribe: () => () => undefined,
        close: async () => undefined,
      };
      const fragile = createCommandOutbox({
        db: current().db,
        clock,
        bus: brokenBus,
        onBusError: (error) => failures.push(error),
      });
      const { id } = await fragile.create(deviceId, { type: 'ping' });
      expect(failures).toHaveLength(2);
      expect((await fragile.takeForDelivery(deviceId)).map((c) => c.id)).toEqual([id]);
    });
  });

  describe('bulk creation', () => {
    it('creates one command per listed active device of the tenant, skipping the others', async () => {
      const [revoked] = await insertDevices(current().db, 'outbox', 1);
      await revokeDevice(current().db, revoked as string);
      const [foreign] = await insertDevices(current().db, 'elsewhere', 1);
      const recorder = recordBus(bus, [BUS_TOPICS.commands]);
      const created = await outbox.createMany('outbox', [
        { deviceId, type: 'consent.updated', body: { n: 1 } },
        { deviceId: revoked as string, type: 'consent.updated' },
        { deviceId: foreign as string, type: 'consent.updated' },
        { deviceId: otherDeviceId, type: 'consent.updated', body: { n: 2 } },
      ]);
      expect(created.count).toBe(2);
      expect(created.deviceIds).toEqual([deviceId, otherDeviceId]);
      expect(recorder.of(BUS_TOPICS.commands).flatMap(parseCommandNotice).sort()).toEqual(
        [deviceId, otherDeviceId].sort(),
      );
      expect((await outbox.takeForDelivery(otherDeviceId)).map((c) => c.body)).toEqual([{ n: 2 }]);
      expect(await outbox.takeForDelivery(revoked as string)).toEqual([]);
      expect(await outbox.takeForDelivery(foreign as string)).toEqual([]);
      recorder.stop();
    });

    it('broadcasts to 10 000 devices in chunked inserts and notices under 7 KB', async () => {
      const many = await insertDevices(current().db, 'bulk', 10_000);
      const recorder = recordBus(bus, [BUS_TOPICS.commands, BUS_TOPICS.adminEvents]);
      const created = await outbox.broadcast('bulk', { type: 'ping', body: { hello: true } });
      expect(created.count).toBe(10_000);
      expect(new Set(created.ids).size).toBe(10_000);
      expect([...created.deviceIds].sort()).toEqual(many);
      const notices = recorder.of(BUS_TOPICS.commands);
      for (const notice of notices) {
        expect(new TextEncoder().encode(JSON.stringify(notice)).length).toBeLessThanOrEqual(7000);
      }
      expect(notices.length).toBeLessThanOrEqual(40);
      expect(notices.flatMap(parseCommandNotice).sort()).toEqual(many);
      expect(recorder.of(BUS_TOPICS.adminEvents)).toHaveLength(10_000);
      const rows = await current()
        .db.selectFrom('commands')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('tenant_id', '=', 'bulk')
        .executeTakeFirstOrThrow();
      expect(Number(rows.n)).toBe(10_000);
      recorder.stop();
    }, 60_000);

    it('broadcasts nothing to a tenant without devices', async () => {
      expect(await outbox.broadcast('nobody', { type: 'ping' })).toEqual({
        count: 0,
        ids: [],
        deviceIds: [],
      });
    });
  });

  describe('concurrent delivery rounds', () => {
    it('never hands one command to two onlyDue rounds running at once', async () => {
      const ids: string[] = [];
      for (let index = 0; index < 60; index++) {
        ids.push((await outbox.create(deviceId, { type: 'ping' })).id);
      }
      const second = createCommandOutbox({ db: current().db, clock, bus });
      const rounds = await Promise.all([
        outbox.takeForDelivery(deviceId, { onlyDue: true }),
        second.takeForDelivery(deviceId, { onlyDue: true }),
        outbox.takeForDelivery(deviceId, { onlyDue: true }),
        second.takeForDelivery(deviceId, { onlyDue: true }),
      ]);
      const handed = rounds.flat().map((c) => c.id);
      expect(handed.sort()).toEqual([...ids].sort());
      const attempts = await current()
        .db.selectFrom('commands')
        .select(['attempts', 'status'])
        .where('device_id', '=', deviceId)
        .execute();
      expect(attempts.every((row) => row.attempts === 1 && row.status === 'sent')).toBe(true);
    });

    it('counts every hand-over of concurrent full rounds as an attempt', async () => {
      const ids: string[] = [];
      for (let index = 0; index < 30; index++) {
        ids.push((await outbox.create(deviceId, { type: 'ping' })).id);
      }
      const rounds = await Promise.all(
        Array.from({ length: 6 }, () => outbox.takeForDelivery(deviceId)),
      );
      const handedOut = new Map<string, number>();
      for (const command of rounds.flat()) {
        handedOut.set(command.id, (handedOut.get(command.id) ?? 0) + 1);
      }
      const rows = await current()
        .db.selectFrom('commands')
        .select(['id', 'attempts', 'status'])
        .where('device_id', '=', deviceId)
        .execute();
      for (const row of rows) {
        // Each hand-over is one attempt; none beyond maxAttempts.
        expect(row.attempts).toBe(handedOut.get(row.id) ?? 0);
        expect(row.attempts).toBeLessThanOrEqual(3);
        if (row.status === 'sent') expect(row.attempts).toBeGreaterThan(0);
      }
      expect(new Set(rows.map((row) => row.id))).toEqual(new Set(ids));
    });
  });
});
