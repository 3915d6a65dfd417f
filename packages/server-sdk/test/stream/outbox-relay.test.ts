// The outbox relay against real NATS JetStream and both databases: every row reaches the stream
// exactly once even when a crash left rows published but unmarked, relays sharing a name take
// turns, a hole a transaction still holds is not stepped over, and with NATS down (a private
// nats-server killed) the outbox grows and the relay catches up once NATS is back.
import { createFakeClock } from '@fieldline/core/testing';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import { createJetStreamStream } from '../../src/stream/create-jetstream-stream.js';
import { createOutboxRelay, type OutboxRelay } from '../../src/stream/create-outbox-relay.js';
import type { StreamRecord } from '../../src/stream/event-stream.js';
import {
  natsTestsEnabled,
  type PrivateNats,
  sharedNatsUrl,
  startPrivateNats,
  uniqueStreamNames,
} from '../support/nats-server.js';
import { append, until } from '../support/outbox-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';

type Db = Kysely<FieldlineDatabase>;

let natsUrl = '';
let privateNats: PrivateNats | undefined;
beforeAll(async () => {
  natsUrl = await sharedNatsUrl();
  privateNats = await startPrivateNats();
}, 30_000);
afterAll(async () => {
  await privateNats?.dispose();
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function openStream(db: Db, servers: string, label: string) {
  const stream = createJetStreamStream({
    db,
    servers,
    ...uniqueStreamNames(label),
    reconnectDelayMs: 100,
    publishTimeoutMs: 1000,
  });
  closers.push(() => stream.close());
  return stream;
}

function openRelay(options: Parameters<typeof createOutboxRelay>[0]): OutboxRelay {
  const relay = createOutboxRelay({
    pollIntervalMs: 10,
    retryDelayMs: 50,
    maxRetryDelayMs: 200,
    ...options,
  });
  closers.push(() => relay.close());
  return relay;
}

// Reads every record in the stream with a fresh consumer, until `count` have come.
async function readAll(stream: ReturnType<typeof openStream>, count: number): Promise<number[]> {
  const seen: StreamRecord[] = [];
  const handle = stream.consume('reader', (record) => {
    seen.push(record);
  });
  await until(() => seen.length >= count, `${count} records`);
  await new Promise((resolve) => setTimeout(resolve, 150));
  await handle.stop();
  return seen.map((record) => record.seq);
}

describe.skipIf(!natsTestsEnabled)('with NATS (TEST_NATS_URL; CI sets it)', () => {
  describeEachDatabase('the outbox relay', (current, kind) => {
    beforeEach(async () => {
      const { db } = current();
      await db.deleteFrom('outbox').execute();
      await db.deleteFrom('outbox_relay_leases').execute();
    });

    it('publishes every row once, in seq order, even after a crash between publish and mark', async () => {
      const { db } = current();
      const seqs = await append(db, 12);
      const stream = openStream(db, natsUrl, 'dedup');
      // What a relay that crashed after its PubAcks but before its commit leaves behind: the
      // first rows are in the stream and still unpublished in the outbox.
      const rows = await db.selectFrom('outbox').selectAll().orderBy('seq').limit(5).execute();
      await stream.publish(
        rows.map((row) => ({
          seq: row.seq,
          tenantId: row.tenant_id,
          topic: row.topic,
          payload: row.payload,
          createdAt: row.created_at,
        })),
      );
      const relay = openRelay({ db, publisher: stream, batchSize: 4 });
      await until(async () => (await relay.status()).unpublished === 0, 'the relay');
      expect(await readAll(stream, seqs.length)).toEqual(seqs);
      const marked = await db
        .selectFrom('outbox')
        .select('seq')
        .where('published_at', 'is not', null)
        .orderBy('seq')
        .execute();
      expect(marked.map((row) => row.seq)).toEqual(seqs);
      expect(await stream.lag('never-started')).toMatchObject({ records: seqs.length });
    });

    it('lets one relay of a name publish at a time; a standby takes over when it stops', async () => {
      const { db } = current();
      const stream = openStream(db, natsUrl, 'lease');
      const first = openRelay({ db, publisher: stream });
      const before = await append(db, 3);
      await until(async () => (await first.status()).unpublished === 0, 'the first relay');
      const second = openRelay({ db, publisher: stream });
      const lease = await db
        .selectFrom('outbox_relay_leases')
        .selectAll()
        .executeTakeFirstOrThrow();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const still = await db
        .selectFrom('outbox_relay_leases')
        .selectAll()
        .executeTakeFirstOrThrow();
      expect(still.holder).toBe(lease.holder);
      await first.close();
      const after = await append(db, 3);
      await until(async () => (await second.status()).unpublished === 0, 'the standby');
      const now = await db.selectFrom('outbox_relay_leases').selectAll().executeTakeFirstOrThrow();
      expect(now.holder).not.toBe(lease.holder);
      expect(Number(now.position)).toBe(after.at(-1));
      expect(await readAll(stream, 6)).toEqual([...before, ...after]);
    });

    it('reports the backlog: unpublished rows and the oldest age', async () => {
      const { db } = current();
      await append(db, 2, '2026-01-01T00:00:00.000Z');
      const clock = createFakeClock({ nowMs: Date.parse('2026-01-01T00:00:09.000Z') });
      // A publisher that is down: the real stream pointed at a port nothing listens on.
      const stream = openStream(db, 'nats://127.0.0.1:1', 'backlog');
      const errors: unknown[] = [];
      const relay = openRelay({
        db,
        publisher: stream,
        clock,
        onError: (error) => errors.push(error),
      });
      await until(() => errors.length > 0, 'a failed round');
      expect(await relay.status()).toEqual({
        connected: false,
        unpublished: 2,
        oldestUnpublishedAgeMs: 9000,
      });
    });

    if (kind === 'postgres') {
      it('does not publish past a seq a transaction in flight may still commit', async () => {
        const { db } = current();
        const stream = openStream(db, natsUrl, 'hole');
        const relay = openRelay({ db, publisher: stream });
        const [before] = await append(db, 1);
        await until(async () => (await relay.status()).unpublished === 0, 'the first row');
        let releaseHole: () => void = () => undefined;
        const held = new Promise<void>((resolve) => {
          releaseHole = resolve;
        });
        let holeSeq = 0;
        const inFlight = db.transaction().execute(async (trx) => {
          const row = await trx
            .insertInto('outbox')
            .values({ tenant_id: 'acme', topic: 'events.ingested', payload: JSON.stringify({}) })
            .returning('seq')
            .executeTakeFirstOrThrow();
          holeSeq = row.seq;
          await held;
        });
        await until(() => holeSeq > 0, 'the open transaction');
        const [after] = await append(db, 1);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect((await relay.status()).unpublished).toBe(1);
        releaseHole();
        await inFlight;
        await until(async () => (await relay.status()).unpublished === 0, 'both rows');
        expect(await readAll(stream, 3)).toEqual([before, holeSeq, after]);
      });
    }

    it('keeps the outbox growing while NATS is down and catches up when it returns', async () => {
      const { db } = current();
      const nats = privateNats as PrivateNats;
      const stream = openStream(db, nats.url, 'down');
      const relay = openRelay({ db, publisher: stream });
      const first = await append(db, 2);
      await until(async () => (await relay.status()).unpublished === 0, 'the first rows');
      expect((await relay.status()).connected).toBe(true);

      await nats.stop();
      const during = await append(db, 5);
      await until(async () => !(await relay.status()).connected, 'the disconnect');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await relay.status()).unpublished).toBe(5);

      await nats.start();
      await until(async () => (await relay.status()).unpublished === 0, 'the catch-up');
      expect((await relay.status()).connected).toBe(true);
      expect(await readAll(stream, 7)).toEqual([...first, ...during]);
    }, 60_000);
  });
});
