// The JetStream stream against a real nats-server (TEST_NATS_URL, else 127.0.0.1:4222), fed by
// the real outbox relay from PGlite and PostgreSQL: the behaviours the embedded stream's tests
// check (order, at least once, redelivery after a throw, shared work, lag), plus what only a
// stream others can publish to needs (malformed messages).
import { createFakeClock } from '@fieldline/core/testing';
import { connect } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import {
  createJetStreamStream,
  type JetStreamErrorContext,
  type JetStreamStreamOptions,
} from '../../src/stream/create-jetstream-stream.js';
import { createOutboxRelay } from '../../src/stream/create-outbox-relay.js';
import type { StreamRecord } from '../../src/stream/event-stream.js';
import { escapeSubjectToken, recordSubject } from '../../src/stream/stream-subject.js';
import { natsTestsEnabled, sharedNatsUrl, uniqueStreamNames } from '../support/nats-server.js';
import { append, until } from '../support/outbox-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';

type Db = Kysely<FieldlineDatabase>;

let natsUrl = '';
beforeAll(async () => {
  natsUrl = await sharedNatsUrl();
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function open(
  db: Db,
  names: ReturnType<typeof uniqueStreamNames>,
  options: Partial<JetStreamStreamOptions> = {},
) {
  const stream = createJetStreamStream({
    db,
    servers: natsUrl,
    ...names,
    reconnectDelayMs: 100,
    ...options,
  });
  closers.push(() => stream.close());
  return stream;
}

// Publishes every unpublished outbox row through the real relay, then stops it.
async function relayAll(db: Db, stream: ReturnType<typeof open>): Promise<void> {
  const relay = createOutboxRelay({ db, publisher: stream, pollIntervalMs: 10 });
  try {
    await until(async () => (await relay.status()).unpublished === 0, 'the relay');
  } finally {
    await relay.close();
  }
}

describe('subject tokens', () => {
  it('escapes what NATS forbids in a token and keeps distinct values distinct', () => {
    expect(escapeSubjectToken('acme')).toBe('acme');
    expect(escapeSubjectToken('acme.eu')).toBe('acme%2Eeu');
    expect(escapeSubjectToken('a b*>')).toBe('a%20b%2A%3E');
    expect(escapeSubjectToken('%2E')).toBe('%252E');
    expect(escapeSubjectToken('')).toBe('%');
    expect(escapeSubjectToken('é')).toBe('%C3%A9');
    expect(recordSubject('fieldline', 'events.ingested', 'acme.eu')).toBe(
      'fieldline.events.ingested.acme%2Eeu',
    );
  });
});

describe.skipIf(!natsTestsEnabled)('with NATS (TEST_NATS_URL; CI sets it)', () => {
  describeEachDatabase('the JetStream event stream', (current) => {
    beforeEach(async () => {
      const { db } = current();
      await db.deleteFrom('outbox').execute();
      await db.deleteFrom('outbox_relay_leases').execute();
    });

    it('delivers every record once, in outbox order, with the outbox seq and payload', async () => {
      const { db } = current();
      const expected = await append(db, 25);
      const names = uniqueStreamNames('order');
      const stream = open(db, names, { batchSize: 4 });
      await relayAll(db, stream);
      const records: StreamRecord[] = [];
      stream.consume('in-order', (record) => {
        records.push(record);
      });
      await until(() => records.length >= expected.length, 'every record');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(records.map((record) => record.seq)).toEqual(expected);
      const last = records.at(-1);
      expect(last).toMatchObject({ tenantId: 'acme', topic: 'events.ingested' });
      expect(last?.payload).toEqual({ batchId: 'b-24' });
      expect(last?.createdAt).toBeInstanceOf(Date);
    });

    it('keeps a durable position: a restarted consumer resumes after what it acked', async () => {
      const { db } = current();
      const first = await append(db, 3);
      const names = uniqueStreamNames('durable');
      const stream = open(db, names);
      await relayAll(db, stream);
      const seen: number[] = [];
      const handle = stream.consume('durable', (record) => {
        seen.push(record.seq);
      });
      await until(() => seen.length === 3, 'the first three');
      await until(async () => (await stream.lag('durable')).records === 0, 'the acks');
      await handle.stop();
      const second = await append(db, 2);
      await relayAll(db, stream);
      stream.consume('durable', (record) => {
        seen.push(record.seq);
      });
      await until(() => seen.length === 5, 'the next two');
      expect(seen).toEqual([...first, ...second]);
    });

    it('redelivers a record whose handler threw, rolling back its writes, after the delay', async () => {
      const { db } = current();
      const expected = await append(db, 5);
      const failAt = expected[2] as number;
      const names = uniqueStreamNames('retry');
      const errors: { message: string; context: JetStreamErrorContext }[] = [];
      const stream = open(db, names, {
        retryDelayMs: 200,
        onError: (error, context) => errors.push({ message: (error as Error).message, context }),
      });
      await relayAll(db, stream);
      const offers: { seq: number; attempt: number }[] = [];
      const handled: number[] = [];
      stream.consume('retrying', async (record, delivery) => {
        offers.push({ seq: record.seq, attempt: delivery.attempt });
        await delivery.db
          .insertInto('tenants')
          .values({ id: `js-${names.subjectPrefix}-${record.seq}-${delivery.attempt}` })
          .execute();
        if (record.seq === failAt && delivery.attempt === 1) throw new Error('not yet');
        handled.push(record.seq);
      });
      await until(() => handled.length === expected.length, 'every record handled');
      // Acked only after the handler's transaction committed: no lag, every write is in.
      await until(async () => (await stream.lag('retrying')).records === 0, 'the acks');
      expect([...handled].sort((a, b) => a - b)).toEqual(expected);
      expect(offers.filter((offer) => offer.seq === failAt)).toEqual([
        { seq: failAt, attempt: 1 },
        { seq: failAt, attempt: 2 },
      ]);
      expect(errors).toEqual([
        { message: 'not yet', context: { consumer: 'retrying', seq: failAt, attempts: 1 } },
      ]);
      const rolledBack = await db
        .selectFrom('tenants')
        .select('id')
        .where('id', '=', `js-${names.subjectPrefix}-${failAt}-1`)
        .executeTakeFirst();
      expect(rolledBack).toBeUndefined();
      const kept = await db
        .selectFrom('tenants')
        .select('id')
        .where('id', '=', `js-${names.subjectPrefix}-${failAt}-2`)
        .executeTakeFirst();
      expect(kept).toBeDefined();
    });

    it('shares one consumer name between two connections: each record handled once', async () => {
      const { db } = current();
      const expected = await append(db, 30);
      const names = uniqueStreamNames('shared');
      const first = open(db, names, { batchSize: 1 });
      const second = open(db, names, { batchSize: 1 });
      await relayAll(db, first);
      const byFirst: number[] = [];
      const bySecond: number[] = [];
      const slow = () => new Promise((resolve) => setTimeout(resolve, 15));
      first.consume('shared', async (record) => {
        byFirst.push(record.seq);
        await slow();
      });
      second.consume('shared', async (record) => {
        bySecond.push(record.seq);
        await slow();
      });
      await until(() => byFirst.length + bySecond.length >= expected.length, 'every record');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect([...byFirst, ...bySecond].sort((a, b) => a - b)).toEqual(expected);
      expect(byFirst.length).toBeGreaterThan(0);
      expect(bySecond.length).toBeGreaterThan(0);
    });

    it('reports lag from the consumer: records pending, the oldest age and the acked position', async () => {
      const { db } = current();
      const expected = await append(db, 3, '2026-01-01T00:00:00.000Z');
      const names = uniqueStreamNames('lag');
      const clock = createFakeClock({ nowMs: Date.parse('2026-01-01T00:00:05.000Z') });
      const stream = open(db, names, { clock });
      await relayAll(db, stream);
      expect(await stream.lag('lagging')).toEqual({
        consumer: 'lagging',
        position: 0,
        records: 3,
        oldestAgeMs: 5000,
      });
      const seen: number[] = [];
      stream.consume('lagging', (record) => {
        seen.push(record.seq);
      });
      await until(() => seen.length === 3, 'three records');
      await until(async () => (await stream.lag('lagging')).records === 0, 'no lag');
      expect(await stream.lag('lagging')).toEqual({
        consumer: 'lagging',
        position: expected.at(-1),
        records: 0,
        oldestAgeMs: 0,
      });
    });

    it('drops a malformed message for good, reports it, and goes on with the next', async () => {
      const { db } = current();
      const names = uniqueStreamNames('malformed');
      const errors: string[] = [];
      const stream = open(db, names, {
        onError: (error) => errors.push((error as Error).message),
      });
      const seqs = await append(db, 1);
      await relayAll(db, stream);
      const nc = await connect({ servers: natsUrl });
      try {
        const { jetstream } = await import('@nats-io/jetstream');
        await jetstream(nc).publish(`${names.subjectPrefix}.events.ingested.acme`, 'not json');
      } finally {
        await nc.close();
      }
      const later = await append(db, 1);
      await relayAll(db, stream);
      const seen: number[] = [];
      stream.consume('strict', (record) => {
        seen.push(record.seq);
      });
      await until(() => seen.length === 2, 'the two good records');
      expect(seen).toEqual([...seqs, ...later]);
      await until(() => errors.length === 1, 'the report');
      expect(errors[0]).toMatch(/malformed stream message: bad headers/);
      await until(async () => (await stream.lag('strict')).records === 0, 'nothing pending');
    });

    it('keeps a new row that reuses an earlier seq (a reset or restored database) instead of dropping it as a duplicate', async () => {
      const { db } = current();
      const stream = open(db, uniqueStreamNames('reused'));
      const record = (batchId: string, createdAt: string): StreamRecord => ({
        seq: 1,
        tenantId: 'acme',
        topic: 'events.ingested',
        payload: { batchId },
        createdAt: new Date(createdAt),
      });
      // The first database's row 1, published twice (a relay crashed before marking it) …
      await stream.publish([record('before-reset', '2026-03-01T10:00:00.000Z')]);
      await stream.publish([record('before-reset', '2026-03-01T10:00:00.000Z')]);
      // … then the database starts over and its new row 1 is published within the dedup window.
      await stream.publish([record('after-reset', '2026-03-01T10:02:00.000Z')]);
      const seen: unknown[] = [];
      stream.consume('reused', (delivered) => {
        seen.push(delivered.payload);
      });
      await until(() => seen.length >= 2, 'both rows');
      await until(async () => (await stream.lag('reused')).records === 0, 'nothing pending');
      expect(seen).toEqual([{ batchId: 'before-reset' }, { batchId: 'after-reset' }]);
    });

    it('rejects a consumer name JetStream cannot hold', async () => {
      const { db } = current();
      const stream = open(db, uniqueStreamNames('names'));
      expect(() => stream.consume('has.dot', () => undefined)).toThrow(/consumer name/);
      expect(() => stream.consume('', () => undefined)).toThrow(/consumer name/);
      await expect(stream.lag('a>b')).rejects.toThrow(/consumer name/);
    });
  });
});
