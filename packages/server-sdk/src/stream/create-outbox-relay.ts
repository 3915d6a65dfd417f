import { randomUUID } from 'node:crypto';
import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { StreamRecord } from './event-stream.js';
import { createOutboxHorizon } from './outbox-horizon.js';
import type { OutboxPublisher } from './outbox-publisher.js';

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** The Fieldline database (PostgreSQL or PGlite), migrated. */
  readonly db: Kysely<FieldlineDatabase>;
  /** Where rows go, e.g. the stream from {@link createJetStreamStream}. */
  readonly publisher: OutboxPublisher;
  /**
   * Most rows per round (one publish, one marking transaction).
   * @default 500
   */
  readonly batchSize?: number;
  /**
   * Pause between rounds once the outbox is drained, in ms (`wake()` cuts it short).
   * @default 200
   */
  readonly pollIntervalMs?: number;
  /**
   * Backoff after a failed round (the publisher or the database is down), in ms; doubled after
   * each further failure up to `maxRetryDelayMs`.
   * @default 500
   */
  readonly retryDelayMs?: number;
  /**
   * Longest backoff, in ms.
   * @default 30000
   */
  readonly maxRetryDelayMs?: number;
  /**
   * How long a relay's lease lasts without renewal, in ms: a standby relay takes over this
   * long after the holder died.
   * @default 15000
   */
  readonly leaseMs?: number;
  /**
   * The lease's name: relays of one name take turns; different names publish independently
   * (to different streams).
   * @default 'default'
   */
  readonly name?: string;
  /**
   * Time source for backoff and ages.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Told of each failed round; the relay keeps retrying.
   * @default ignores them
   */
  readonly onError?: (error: unknown) => void;
}

/** What {@link OutboxRelay.status} reports. */
export interface OutboxRelayStatus {
  /** Whether the publisher is connected. */
  readonly connected: boolean;
  /** Outbox rows not published yet. */
  readonly unpublished: number;
  /** Age of the oldest of them, in ms (0 when there is none). */
  readonly oldestUnpublishedAgeMs: number;
}

/** A running outbox relay, from {@link createOutboxRelay}. */
export interface OutboxRelay {
  /**
   * The backlog and the connection, for `/readyz` and metrics.
   *
   * @returns connected, unpublished rows and the oldest one's age.
   * @example
   * ```ts
   * const { unpublished, oldestUnpublishedAgeMs } = await relay.status();
   * ```
   */
  status(): Promise<OutboxRelayStatus>;
  /**
   * Starts a round now instead of after the poll pause (e.g. on a NOTIFY that rows arrived).
   *
   * @example
   * ```ts
   * bus.subscribe(topic, () => relay.wake());
   * ```
   */
  wake(): void;
  /**
   * Stops the relay once the round in flight has finished. The database and publisher are the
   * caller's and stay open.
   *
   * @example
   * ```ts
   * await relay.close();
   * ```
   */
  close(): Promise<void>;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer.`, { [name]: value });
  }
  return value;
}

type Round = 'drained' | 'more' | 'standby';

/**
 * The outbox relay: publishes the outbox rows ingestion writes to a stream (NATS JetStream),
 * in seq order, and marks them `published_at`.
 *
 * How it keeps its promises:
 * - **Nothing lost, nothing doubled in the stream.** A round reads unpublished rows, publishes
 *   them, waits for every PubAck, and only then marks them. A crash between publish and mark
 *   publishes them again, which JetStream drops as duplicates (`Nats-Msg-Id` = `outbox-<seq>-<createdAtMs>`
 *   within the dedup window); past the window, consumers are idempotent by batch id anyway.
 * - **Seq order.** Relays sharing a name take turns through a lease row
 *   (`outbox_relay_leases`, claimed only when free or lapsed, renewed each round) rather than
 *   splitting rows between them, which would interleave the stream. The holder never publishes
 *   past a hole that a transaction in flight may still fill (the rule of the embedded stream),
 *   so the stream's order is the outbox's.
 * - **NATS down.** Ingestion is untouched (it only writes the outbox); rounds fail and retry
 *   with backoff (`retryDelayMs` doubling to `maxRetryDelayMs`); the backlog shows in
 *   `status()`; the relay catches up when the publisher is back. No transaction is held open
 *   while publishing, so a slow or absent NATS never blocks the database.
 *
 * @param options - database, publisher, sizes and timings.
 * @returns the running relay.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a size or delay
 *   that is not a positive integer.
 * @example
 * ```ts
 * const stream = createJetStreamStream({ db, servers: 'nats://127.0.0.1:4222' });
 * const relay = createOutboxRelay({ db, publisher: stream });
 * console.log(await relay.status()); // { connected: true, unpublished: 0, … }
 * await relay.close();
 * ```
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, publisher } = options;
  const clock = options.clock ?? systemClock;
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 500);
  const pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs ?? 200);
  const retryDelayMs = positiveInteger('retryDelayMs', options.retryDelayMs ?? 500);
  const maxRetryDelayMs = positiveInteger('maxRetryDelayMs', options.maxRetryDelayMs ?? 30_000);
  const leaseMs = positiveInteger('leaseMs', options.leaseMs ?? 15_000);
  const name = options.name ?? 'default';
  const onError = options.onError ?? (() => undefined);
  const holder = randomUUID();
  const horizon = createOutboxHorizon(db);
  let stopping = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let wakeRequested = false;

  // Takes or renews the lease; undefined while another relay holds it.
  async function claim(): Promise<number | undefined> {
    const { rows } = await sql<{ position: string | number }>`
      insert into outbox_relay_leases (name, holder, lease_until)
      values (${name}, ${holder}, now() + ${leaseMs} * interval '1 millisecond')
      on conflict (name) do update
        set holder = excluded.holder, lease_until = excluded.lease_until
        where outbox_relay_leases.holder = excluded.holder
          or outbox_relay_leases.lease_until < now()
      returning position`.execute(db);
    const row = rows[0];
    return row === undefined ? undefined : Number(row.position);
  }

  async function readUnpublished(): Promise<StreamRecord[]> {
    const rows = await db
      .selectFrom('outbox')
      .select(['seq', 'tenant_id', 'topic', 'payload', 'created_at'])
      .where('published_at', 'is', null)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    return rows.map((row) => ({
      seq: row.seq,
      tenantId: row.tenant_id,
      topic: row.topic,
      payload: row.payload,
      createdAt: row.created_at,
    }));
  }

  // The leading rows that follow the position without a hole, or whose seq is final.
  function publishable(records: readonly StreamRecord[], position: number): StreamRecord[] {
    const ready: StreamRecord[] = [];
    let last = position;
    for (const record of records) {
      if (record.seq !== last + 1 && record.seq > horizon.finalSeq) break;
      ready.push(record);
      last = record.seq;
    }
    return ready;
  }

  async function round(): Promise<Round> {
    const position = await claim();
    if (position === undefined) {
      // Ready to take over, and honest in status(): a standby keeps its connection up.
      await publisher.publish([]);
      return 'standby';
    }
    let records = await readUnpublished();
    let ready = publishable(records, position);
    if (ready.length < records.length && (await horizon.advance())) {
      // Read again: the rows read above predate the writers that have now ended, whose rows
      // (below the new final seq) must go out first.
      records = await readUnpublished();
      ready = publishable(records, position);
    }
    if (ready.length === 0) return 'drained';
    await publisher.publish(ready);
    const seqs = ready.map((record) => record.seq);
    const top = seqs[seqs.length - 1] as number;
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('outbox')
        .set({ published_at: sql<Date>`now()` })
        .where('seq', 'in', seqs)
        .execute();
      await trx
        .updateTable('outbox_relay_leases')
        .set({ position: sql<number>`greatest(position, ${top})`, updated_at: sql<Date>`now()` })
        .where('name', '=', name)
        .where('holder', '=', holder)
        .execute();
    });
    return ready.length === records.length && records.length === batchSize ? 'more' : 'drained';
  }

  async function work(): Promise<number> {
    try {
      for (;;) {
        wakeRequested = false;
        const result = await round();
        failures = 0;
        if (result !== 'more' || stopping) return wakeRequested ? 0 : pollIntervalMs;
      }
    } catch (error) {
      failures += 1;
      try {
        onError(error);
      } catch {
        // A failing error listener must not stop the relay.
      }
      return Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (failures - 1));
    }
  }

  const schedule = (delayMs: number): void => {
    if (stopping) return;
    timer = setTimeout(tick, delayMs);
  };
  function tick(): void {
    timer = undefined;
    running = work().then((delayMs) => {
      running = undefined;
      schedule(delayMs);
    });
  }
  tick();

  return {
    async status() {
      const row = await db
        .selectFrom('outbox')
        .select((eb) => [
          eb.fn.countAll<number>().as('count'),
          eb.fn.min('created_at').as('oldest'),
        ])
        .where('published_at', 'is', null)
        .executeTakeFirst();
      const unpublished = Number(row?.count ?? 0);
      const oldest = row?.oldest ?? null;
      return {
        connected: publisher.connected,
        unpublished,
        oldestUnpublishedAgeMs:
          oldest === null ? 0 : Math.max(0, clock.now() - new Date(oldest).getTime()),
      };
    },
    wake() {
      if (running !== undefined) {
        wakeRequested = true;
        return;
      }
      if (timer !== undefined && failures === 0) {
        clearTimeout(timer);
        tick();
      }
    },
    async close() {
      stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
      // Let a standby take over at once rather than after the lease lapses.
      await db
        .updateTable('outbox_relay_leases')
        .set({ lease_until: sql<Date>`now() - interval '1 millisecond'` })
        .where('name', '=', name)
        .where('holder', '=', holder)
        .execute()
        .catch(() => undefined);
    },
  };
}
