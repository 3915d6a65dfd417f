import { createFakeClock } from '@fieldline/core/testing';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import { consumeOutboxBatch } from '../../src/stream/consume-outbox-batch.js';
import { createOutboxStream } from '../../src/stream/create-outbox-stream.js';
import type { EventStream, StreamRecord } from '../../src/stream/event-stream.js';
import { createOutboxHorizon } from '../../src/stream/outbox-horizon.js';
import { append, until } from '../support/outbox-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';

type Db = Kysely<FieldlineDatabase>;

async function allSeqs(db: Db): Promise<number[]> {
  const rows = await db.selectFrom('outbox').select('seq').orderBy('seq').execute();
  return rows.map((row) => row.seq);
}

// Waits for a condition the consumers make true; the bound only turns a hang into a failure.

const streams: EventStream[] = [];
function open(db: Db, options: Partial<Parameters<typeof createOutboxStream>[0]> = {}) {
  const stream = createOutboxStream({ db, pollIntervalMs: 5, ...options });
  streams.push(stream);
  return stream;
}
afterEach(async () => {
  await Promise.all(streams.splice(0).map((stream) => stream.close()));
});

describeEachDatabase('the outbox event stream', (current, kind) => {
  it('reports lag: records behind and the age of the oldest', async () => {
    const { db } = current();
    await append(db, 3, '2026-01-01T00:00:00.000Z');
    const clock = createFakeClock({ nowMs: Date.parse('2026-01-01T00:00:05.000Z') });
    const stream = open(db, { clock });
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
      position: Math.max(...seen),
      records: 0,
      oldestAgeMs: 0,
    });
  });

  it("runs deferred work once per key at the end of a batch, dropping a failed record's", async () => {
    const { db } = current();
    await append(db, 6);
    const seqs = await allSeqs(db);
    const failAt = seqs[4] as number;
    const runs: { key: string; handledBefore: number }[] = [];
    let handled = 0;
    const errors: unknown[] = [];
    open(db, { batchSize: 10, onError: (error) => errors.push(error) }).consume(
      'deferring',
      (record, delivery) => {
        // Records alternate between two keys; the failing one registers a third key.
        const key = record.seq === failAt ? 'c' : record.seq % 2 === 0 ? 'a' : 'b';
        delivery.deferUntilCommit(key, async (trx) => {
          runs.push({ key, handledBefore: handled });
          await trx
            .insertInto('tenants')
            .values({ id: `deferred-${key}-${runs.length}` })
            .execute();
        });
        if (record.seq === failAt) throw new Error('this record fails');
        handled += 1;
      },
    );
    await until(() => errors.length >= 1, 'the failure');
    // One run per key of the four handled records, after all four, in key order; none for 'c'.
    expect(runs.slice(0, 2).map((run) => run.key)).toEqual(['a', 'b']);
    expect(runs.slice(0, 2).every((run) => run.handledBefore === 4)).toBe(true);
    expect(runs.some((run) => run.key === 'c')).toBe(false);
    const stored = await db
      .selectFrom('tenants')
      .select('id')
      .where('id', 'like', 'deferred-%')
      .execute();
    expect(stored.map((row) => row.id).sort()).toEqual(['deferred-a-1', 'deferred-b-2']);
  });

  it('rolls the whole batch back when deferred work throws, and offers it again', async () => {
    const { db } = current();
    await append(db, 3);
    const clock = createFakeClock({ nowMs: 1_000_000 });
    let failures = 0;
    const errors: unknown[] = [];
    const stream = open(db, {
      clock,
      batchSize: 10,
      retryDelayMs: 1000,
      onError: (e) => errors.push(e),
    });
    stream.consume('deferred-throw', async (record, delivery) => {
      await delivery.db
        .insertInto('tenants')
        .values({ id: `rec-${record.seq}-${failures}` })
        .execute();
      delivery.deferUntilCommit('once', async () => {
        if (failures === 0) {
          failures += 1;
          throw new Error('deferred work failed');
        }
      });
    });
    await until(() => errors.length === 1, 'the failed batch');
    clock.advance(1000);
    await until(async () => (await stream.lag('deferred-throw')).records === 0, 'the retry');
    // The first offer's writes were rolled back with its deferred work; the second committed.
    const stored = await db
      .selectFrom('tenants')
      .select('id')
      .where('id', 'like', 'rec-%')
      .execute();
    const ids = stored.map((row) => row.id);
    expect(ids.filter((id) => id.endsWith('-0'))).toEqual([]);
    expect(ids.length).toBe((await allSeqs(db)).length);
  });

  it('delivers every record once, in seq order, across batches', async () => {
    const { db } = current();
    await append(db, 25);
    const expected = await allSeqs(db);
    const records: StreamRecord[] = [];
    open(db, { batchSize: 4 }).consume('in-order', (record) => {
      records.push(record);
    });
    await until(() => records.length >= expected.length, 'every record');
    expect(records.map((record) => record.seq)).toEqual(expected);
    const last = records.at(-1);
    expect(last).toMatchObject({ tenantId: 'acme', topic: 'events.ingested' });
    expect(last?.payload).toEqual({ batchId: 'b-24' });
    expect(last?.createdAt).toBeInstanceOf(Date);
  });

  it('offers a record whose handler threw again after the backoff, skipping nothing', async () => {
    const { db } = current();
    await append(db, 5);
    const expected = await allSeqs(db);
    const failAt = expected.at(-3) as number;
    const clock = createFakeClock({ nowMs: 1_000_000 });
    const errors: { message: string; seq?: number; attempts?: number }[] = [];
    const offers: { seq: number; attempt: number }[] = [];
    const handled: number[] = [];
    open(db, {
      clock,
      batchSize: 10,
      retryDelayMs: 1000,
      onError: (error, context) => {
        errors.push({
          message: (error as Error).message,
          seq: context.seq,
          attempts: context.attempts,
        });
      },
    }).consume('retrying', async (record, delivery) => {
      offers.push({ seq: record.seq, attempt: delivery.attempt });
      // A write through delivery.db that the throw must roll back.
      await delivery.db
        .insertInto('tenants')
        .values({ id: `t-${record.seq}-${delivery.attempt}` })
        .execute();
      if (record.seq === failAt && delivery.attempt === 1) throw new Error('not yet');
      handled.push(record.seq);
    });
    await until(() => errors.length === 1, 'the failure');
    expect(errors[0]).toEqual({ message: 'not yet', seq: failAt, attempts: 1 });
    expect(handled).toEqual(expected.filter((seq) => seq < failAt));
    const position = await db
      .selectFrom('stream_consumers')
      .select('position')
      .where('name', '=', 'retrying')
      .executeTakeFirstOrThrow();
    expect(position.position).toBe(expected.filter((seq) => seq < failAt).at(-1) ?? 0);
    const rolledBack = await db
      .selectFrom('tenants')
      .select('id')
      .where('id', '=', `t-${failAt}-1`)
      .executeTakeFirst();
    expect(rolledBack).toBeUndefined();

    clock.advance(1000);
    await until(() => handled.length === expected.length, 'the rest');
    expect(handled).toEqual(expected);
    expect(offers.filter((offer) => offer.seq === failAt)).toEqual([
      { seq: failAt, attempt: 1 },
      { seq: failAt, attempt: 2 },
    ]);
    expect(offers.filter((offer) => offer.seq > failAt).every((offer) => offer.attempt === 1)).toBe(
      true,
    );
  });

  it('shares one name between consumers in parallel: each record handled exactly once', async () => {
    const { db } = current();
    await append(db, 40);
    const expected = await allSeqs(db);
    const counts = new Map<number, number>();
    const byWorker = [0, 0];
    let inFlight = 0;
    let overlapped = false;
    const handler = (worker: number) => async (record: StreamRecord) => {
      inFlight += 1;
      if (inFlight > 1) overlapped = true;
      await new Promise((resolve) => setImmediate(resolve));
      counts.set(record.seq, (counts.get(record.seq) ?? 0) + 1);
      byWorker[worker] = (byWorker[worker] ?? 0) + 1;
      inFlight -= 1;
    };
    const first = open(db, { batchSize: 3 });
    const second = open(db, { batchSize: 3 });
    first.consume('shared', handler(0));
    second.consume('shared', handler(1));
    first.consume('shared', handler(0));
    await until(() => counts.size >= expected.length, 'every record');
    await Promise.all(streams.map((stream) => stream.close()));
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(expected);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(overlapped).toBe(false);
    expect(byWorker.reduce((sum, count) => sum + count, 0)).toBe(expected.length);
  });

  it('gives each consumer name every record', async () => {
    const { db } = current();
    await append(db, 6);
    const expected = await allSeqs(db);
    const seen = { a: [] as number[], b: [] as number[] };
    const stream = open(db);
    stream.consume('name-a', (record) => {
      seen.a.push(record.seq);
    });
    stream.consume('name-b', (record) => {
      seen.b.push(record.seq);
    });
    await until(() => seen.a.length >= expected.length && seen.b.length >= expected.length, 'both');
    expect(seen.a).toEqual(expected);
    expect(seen.b).toEqual(expected);
  });

  it('stops only once the batch in flight has committed', async () => {
    const { db } = current();
    const [only] = await append(db, 1);
    const stream = open(db);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const entered: number[] = [];
    const handle = stream.consume('stopping', async (record) => {
      if (record.seq !== only) return;
      entered.push(record.seq);
      await gate;
    });
    await until(() => entered.length === 1, 'the handler to start');
    let stopped = false;
    const stopping = handle.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect((await stream.lag('stopping')).position).toBe(only);
  });

  it('resumes from the committed position after a restart', async () => {
    const { db } = current();
    await append(db, 4);
    const before = await allSeqs(db);
    const first: number[] = [];
    const stream = open(db);
    const handle = stream.consume('restarting', (record) => {
      first.push(record.seq);
    });
    await until(() => first.length >= before.length, 'the first run');
    await handle.stop();
    await stream.close();
    const added = await append(db, 3);
    const second: number[] = [];
    open(db).consume('restarting', (record) => {
      second.push(record.seq);
    });
    await until(() => second.length >= added.length, 'the second run');
    expect(first).toEqual(before);
    expect(second).toEqual(added);
  });

  it('steps over the hole a rolled-back insert leaves', async () => {
    const { db } = current();
    const before = await allSeqs(db);
    await db
      .transaction()
      .execute(async (trx) => {
        await append(trx, 1);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const after = await append(db, 2);
    expect(after[0]).toBeGreaterThan((before.at(-1) ?? 0) + 1);
    const seen: number[] = [];
    open(db).consume('holes', (record) => {
      seen.push(record.seq);
    });
    await until(() => seen.length >= before.length + after.length, 'every record');
    expect(seen).toEqual([...before, ...after]);
  });

  if (kind === 'postgres') {
    it('never steps over a seq whose transaction commits after a later one', async () => {
      const { db } = current();
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      const schema = rows[0]?.schema as string;
      const connect = async () => {
        const client = new pg.Client({
          connectionString: process.env.TEST_DATABASE_URL,
          options: `-c search_path=${schema}`,
        });
        await client.connect();
        return client;
      };
      const early = await connect();
      const late = await connect();
      try {
        const before = await allSeqs(db);
        const live: number[] = [];
        open(db).consume('out-of-order-live', (record) => {
          live.push(record.seq);
        });
        await until(() => live.length >= before.length, 'the records before');

        // The earlier tests left a rolled-back hole; a horizon taken now has no writer to wait for.
        const horizon = createOutboxHorizon(db);
        expect(await horizon.advance()).toBe(true);

        const insert = `insert into outbox (tenant_id, topic, payload)
          values ('acme', 'events.ingested', '{}') returning seq`;
        await early.query('begin');
        const first = Number((await early.query(insert)).rows[0].seq);
        await late.query('begin');
        const second = Number((await late.query(insert)).rows[0].seq);
        await late.query('commit');
        expect(second).toBeGreaterThan(first);

        // Step by step: the committed later seq is held back while the earlier one is in flight.
        await db.insertInto('stream_consumers').values({ name: 'out-of-order' }).execute();
        const seen: number[] = [];
        const batch = () =>
          consumeOutboxBatch({
            db,
            name: 'out-of-order',
            handler: (record) => {
              seen.push(record.seq);
            },
            batchSize: 1000,
            finalSeq: horizon.finalSeq,
            attemptOf: () => 1,
          });
        expect(await batch()).toMatchObject({ blockedAtHole: true, handled: before.length });
        expect(await horizon.advance()).toBe(false);
        expect(await horizon.advance()).toBe(false);
        expect(await batch()).toMatchObject({ blockedAtHole: true, handled: 0 });
        expect(seen).toEqual(before);
        expect(live).toEqual(before);

        await early.query('commit');
        expect(await horizon.advance()).toBe(true);
        expect(await batch()).toMatchObject({ blockedAtHole: false, handled: 2 });
        expect(seen).toEqual([...before, first, second]);
        await until(() => live.length >= before.length + 2, 'the live consumer');
        expect(live).toEqual([...before, first, second]);
      } finally {
        await early.query('rollback').catch(() => undefined);
        await early.end();
        await late.end();
      }
    });
  }
});
