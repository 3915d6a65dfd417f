// The PostgreSQL bus against a real server, only when TEST_DATABASE_URL is set (CI sets it).
import { randomBytes } from 'node:crypto';
import { isInvalidArgumentError } from '@fieldline/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BUS_PAYLOAD_BYTES } from '../../src/cluster/bus-payload.js';
import { BUS_TOPICS, type BusTopic, type ClusterBus } from '../../src/cluster/cluster-bus.js';
import { createPostgresBus, type PostgresBus } from '../../src/cluster/postgres-bus.js';
import { availableDatabases } from '../support/test-databases.js';

const url = process.env.TEST_DATABASE_URL as string;

describe.skipIf(!availableDatabases().includes('postgres'))('createPostgresBus [postgres]', () => {
  const open: ClusterBus[] = [];
  // A prefix per test keeps parallel runs (and other suites) off each other's channels.
  let prefix = '';
  const errors: unknown[] = [];

  async function bus(extra: { applicationName?: string } = {}): Promise<PostgresBus> {
    const created = await createPostgresBus({
      connectionString: url,
      channelPrefix: prefix,
      reconnectBaseMs: 20,
      reconnectMaxMs: 200,
      onError: (error) => errors.push(error),
      ...extra,
    });
    open.push(created);
    return created;
  }

  function collect(target: ClusterBus, topic: BusTopic = BUS_TOPICS.commands): unknown[] {
    const seen: unknown[] = [];
    target.subscribe(topic, (payload) => seen.push(payload));
    return seen;
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
    errors.length = 0;
  });

  it('delivers between two instances, and to the publisher itself', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const a = await bus();
    const b = await bus();
    const seenByA = collect(a);
    const seenByB = collect(b);
    await Promise.all([a.ready(), b.ready()]);
    await a.publish(BUS_TOPICS.commands, { deviceId: 'dev_a' });
    await b.publish(BUS_TOPICS.commands, { deviceId: 'dev_b' });
    await expect.poll(() => seenByB.length, { timeout: 1000 }).toBe(2);
    await expect.poll(() => seenByA.length, { timeout: 1000 }).toBe(2);
    expect(seenByB).toEqual([{ deviceId: 'dev_a' }, { deviceId: 'dev_b' }]);
    expect(seenByA).toEqual(seenByB);
  });

  it('keeps one publisher’s order, and keeps topics and prefixes apart', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const a = await bus();
    const b = await bus();
    const commands = collect(b);
    const sessions = collect(b, BUS_TOPICS.sessions);
    const otherPrefix = await createPostgresBus({
      connectionString: url,
      channelPrefix: `${prefix}x`,
    });
    open.push(otherPrefix);
    const foreign = collect(otherPrefix);
    await Promise.all([b.ready(), otherPrefix.ready()]);
    const sent = Array.from({ length: 50 }, (_, index) => ({ deviceId: `dev_${index}` }));
    // Not awaited one by one: order must hold even when publishes overlap.
    await Promise.all(sent.map((payload) => a.publish(BUS_TOPICS.commands, payload)));
    await expect.poll(() => commands.length, { timeout: 1000 }).toBe(50);
    expect(commands).toEqual(sent);
    expect(sessions).toEqual([]);
    expect(foreign).toEqual([]);
  });

  it('keeps the order of overlapping publishes across topics, and sends them before close()', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const a = await bus();
    const b = await bus();
    const seen: unknown[] = [];
    b.subscribe(BUS_TOPICS.commands, (payload) => seen.push(payload));
    b.subscribe(BUS_TOPICS.sessions, (payload) => seen.push(payload));
    await b.ready();
    // Overlapping publishes on two topics leave in shared statements; one listener hears them
    // in publish order.
    const sent = Array.from({ length: 120 }, (_, index) => ({ deviceId: `dev_${index}` }));
    const publishing = sent.map((payload, index) =>
      a.publish(index % 3 === 0 ? BUS_TOPICS.sessions : BUS_TOPICS.commands, payload),
    );
    // Closing while most are still queued: everything published before close() goes out.
    await a.close();
    await Promise.all(publishing);
    await expect.poll(() => seen.length, { timeout: 2000 }).toBe(120);
    expect(seen).toEqual(sent);
    expect(errors).toEqual([]);
  });

  it('publishes many in a few statements, in order, interleaved with single publishes', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const a = await bus();
    const b = await bus();
    const commands = collect(b);
    await b.ready();
    // 120 spans three statements of the batch; identical payloads must all arrive too.
    const many = Array.from({ length: 120 }, (_, index) => ({ deviceId: `dev_${index % 60}` }));
    await a.publish(BUS_TOPICS.commands, { deviceId: 'first' });
    await a.publishMany?.(BUS_TOPICS.commands, many);
    await a.publish(BUS_TOPICS.commands, { deviceId: 'last' });
    await expect.poll(() => commands.at(-1), { timeout: 2000 }).toEqual({ deviceId: 'last' });
    expect(commands[0]).toEqual({ deviceId: 'first' });
    // PostgreSQL folds identical notifications of one transaction into one; each statement of
    // 50 is a transaction, so every distinct payload arrives, in order, at least once.
    const middle = commands.slice(1, -1) as Array<{ deviceId: string }>;
    expect([...new Set(middle.map((payload) => payload.deviceId))]).toEqual(
      Array.from({ length: 60 }, (_, index) => `dev_${index}`),
    );
    expect(errors).toEqual([]);
  });

  it('stops delivering after unsubscribe, to that listener only', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const a = await bus();
    const kept: unknown[] = [];
    const dropped: unknown[] = [];
    a.subscribe(BUS_TOPICS.adminEvents, (payload) => kept.push(payload));
    const stop = a.subscribe(BUS_TOPICS.adminEvents, (payload) => dropped.push(payload));
    await a.ready();
    await a.publish(BUS_TOPICS.adminEvents, { n: 1 });
    await expect.poll(() => dropped.length, { timeout: 1000 }).toBe(1);
    stop();
    stop();
    await a.publish(BUS_TOPICS.adminEvents, { n: 2 });
    await expect.poll(() => kept.length, { timeout: 1000 }).toBe(2);
    expect(dropped).toEqual([{ n: 1 }]);
  });

  it('refuses an oversized payload with invalid_argument and sends nothing', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const a = await bus();
    const seen = collect(a);
    await a.ready();
    const error = await a
      .publish(BUS_TOPICS.commands, { blob: 'é'.repeat(MAX_BUS_PAYLOAD_BYTES / 2) })
      .catch((caught: unknown) => caught);
    expect(isInvalidArgumentError(error)).toBe(true);
    expect((error as Error).message).toMatch(/7011 bytes of JSON; the bus carries at most 7000/);
    await a.publish(BUS_TOPICS.commands, { deviceId: 'after' });
    await expect.poll(() => seen, { timeout: 1000 }).toEqual([{ deviceId: 'after' }]);
  });

  it('refuses a prefix that is not a plain identifier or too long', async () => {
    await expect(
      createPostgresBus({ connectionString: url, channelPrefix: 'a"; drop' }),
    ).rejects.toThrow(/letters, digits and "_"/);
    await expect(
      createPostgresBus({ connectionString: url, channelPrefix: 'p'.repeat(50) }),
    ).rejects.toThrow(/63 bytes/);
  });

  it('reconnects and re-listens after its connection is terminated', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const applicationName = `fl-bus-test-${randomBytes(4).toString('hex')}`;
    const listener = await bus({ applicationName });
    const publisher = await bus();
    const commands = collect(listener);
    const sessions = collect(listener, BUS_TOPICS.sessions);
    let gaps = 0;
    listener.onReconnect(() => {
      gaps += 1;
    });
    await Promise.all([listener.ready(), publisher.ready()]);
    await publisher.publish(BUS_TOPICS.commands, { deviceId: 'before' });
    await expect.poll(() => commands.length, { timeout: 1000 }).toBe(1);
    // The first connect closes no gap.
    expect(gaps).toBe(0);

    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const killed = await admin.query<{ pid: number }>(
        // The publishing connection is named `<name>-publish`, so this is the listener only.
        'select pid from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      expect(killed.rows).toHaveLength(1);
      await admin.query('select pg_terminate_backend($1)', [killed.rows[0]?.pid]);
      await expect.poll(() => errors.length, { timeout: 2000 }).toBeGreaterThan(0);
      await listener.ready();
      // Back and listening: subscribers are told to re-read what they may have missed.
      await expect.poll(() => gaps, { timeout: 2000 }).toBe(1);
      const after = await admin.query<{ pid: number }>(
        'select pid from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      expect(after.rows).toHaveLength(1);
      expect(after.rows[0]?.pid).not.toBe(killed.rows[0]?.pid);
    } finally {
      await admin.end();
    }
    await publisher.publish(BUS_TOPICS.commands, { deviceId: 'after' });
    await publisher.publish(BUS_TOPICS.sessions, { deviceId: 'after', instanceId: 'i' });
    await expect.poll(() => commands.length, { timeout: 1000 }).toBe(2);
    expect(commands).toEqual([{ deviceId: 'before' }, { deviceId: 'after' }]);
    await expect
      .poll(() => sessions, { timeout: 1000 })
      .toEqual([{ deviceId: 'after', instanceId: 'i' }]);
  });

  it('close() ends both connections and later publishes do nothing', async () => {
    prefix = `t${randomBytes(4).toString('hex')}_`;
    const applicationName = `fl-bus-test-${randomBytes(4).toString('hex')}`;
    const a = await createPostgresBus({
      connectionString: url,
      channelPrefix: prefix,
      applicationName,
    });
    collect(a);
    await a.ready();
    await a.publish(BUS_TOPICS.commands, { deviceId: 'x' });
    await a.close();
    await a.close();
    await a.publish(BUS_TOPICS.commands, { deviceId: 'y' });
    await a.ready();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await expect
        .poll(
          async () =>
            (
              await admin.query('select pid from pg_stat_activity where application_name like $1', [
                `${applicationName}%`,
              ])
            ).rows.length,
          { timeout: 2000 },
        )
        .toBe(0);
    } finally {
      await admin.end();
    }
  });
});
