// Part of `npm run bench -- analytics`: the outbox relay's throughput into NATS JetStream and
// consumers' throughput out of both streams, each beside a bare client doing the same, and
// signed webhook deliveries to a local receiver beside bare POSTs.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import {
  createDatabase,
  createJetStreamStream,
  createOutboxRelay,
  createOutboxStream,
  migrateToLatest,
  signWebhook,
} from '@fieldline/server-sdk';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { fmt, printTable } from './harness.mjs';
import { withSchema } from './pg-schema.mjs';
import { startServerProcess } from './server-process.mjs';

const NATS_URL = process.env.BENCH_NATS_URL ?? process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const RECORDS = Number(process.env.BENCH_STREAM_RECORDS ?? 20_000);
const DELIVERIES = Number(process.env.BENCH_WEBHOOK_DELIVERIES ?? 2_000);

const until = async (check, timeoutMs = 300_000) => {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** An `events.ingested` payload of the size ingestion writes for a 500-event batch. */
const ingestedPayload = (i) => ({
  deviceId: `dev_bench${String(i % 100).padStart(6, '0')}`,
  tenantId: 'bench',
  batchId: randomUUID(),
  messageId: randomUUID(),
  receivedAt: new Date().toISOString(),
  count: 500,
});

async function fillOutbox(db, count) {
  const rows = Array.from({ length: count }, (_, i) => ({
    tenant_id: 'bench',
    topic: 'events.ingested',
    payload: JSON.stringify(ingestedPayload(i)),
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    await db
      .insertInto('outbox')
      .values(rows.slice(i, i + 1000))
      .execute();
  }
}

/** Relay outbox → JetStream, consumers out of JetStream and out of the embedded outbox. */
async function benchRelay(pgUrl) {
  return withSchema(pgUrl, async ({ databaseUrl: connectionString }) => {
    const database = await createDatabase({ connectionString });
    const suffix = randomBytes(4).toString('hex');
    try {
      await migrateToLatest(database.db);
      await fillOutbox(database.db, RECORDS);

      // Bare JetStream: the same payloads, published in batches of 100 with Nats-Msg-Id and
      // awaited PubAcks, as the relay does.
      const nc = await connect({ servers: NATS_URL });
      const jsm = await jetstreamManager(nc);
      const bareStream = `BENCH_BARE_${suffix}`;
      await jsm.streams.add({ name: bareStream, subjects: [`benchbare${suffix}.>`] });
      const js = jetstream(nc);
      const payloads = Array.from({ length: RECORDS }, (_, i) =>
        JSON.stringify(ingestedPayload(i)),
      );
      let t0 = performance.now();
      for (let i = 0; i < RECORDS; i += 100) {
        await Promise.all(
          payloads
            .slice(i, i + 100)
            .map((p, j) =>
              js.publish(`benchbare${suffix}.events.bench`, p, { msgID: `bare-${i + j}` }),
            ),
        );
      }
      const bareRate = (RECORDS * 1000) / (performance.now() - t0);
      await jsm.streams.delete(bareStream);
      await nc.drain();

      // The relay.
      const stream = createJetStreamStream({
        db: database.db,
        servers: NATS_URL,
        stream: `BENCH_${suffix}`,
        subjectPrefix: `bench${suffix}`,
      });
      t0 = performance.now();
      const relay = createOutboxRelay({ db: database.db, publisher: stream, batchSize: 500 });
      await until(async () => (await relay.status()).unpublished === 0);
      const relayRate = (RECORDS * 1000) / (performance.now() - t0);
      await relay.close();

      // A no-op durable consumer out of JetStream, and out of the embedded outbox stream.
      const consumeAll = async (eventStream, name) => {
        let seen = 0;
        const started = performance.now();
        const handle = eventStream.consume(name, () => {
          seen += 1;
        });
        await until(() => seen >= RECORDS);
        const rate = (RECORDS * 1000) / (performance.now() - started);
        await handle.stop();
        return rate;
      };
      const jetStreamConsumeRate = await consumeAll(stream, 'bench');
      await stream.close();
      // The bench's JetStream stream goes with the run.
      const cleanup = await connect({ servers: NATS_URL });
      await (await jetstreamManager(cleanup)).streams.delete(`BENCH_${suffix}`);
      await cleanup.drain();
      const embedded = createOutboxStream({ db: database.db });
      const embeddedConsumeRate = await consumeAll(embedded, 'bench');
      await embedded.close();
      return { bareRate, relayRate, jetStreamConsumeRate, embeddedConsumeRate };
    } finally {
      await database.close();
    }
  });
}

/** A receiver on 127.0.0.1 that answers 204 and counts. */
async function startReceiver() {
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received += 1;
      response.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    received: () => received,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Signed deliveries through the reference server's worker, beside bare signed POSTs. */
async function benchWebhooks(pgUrl, adminToken) {
  const receiver = await startReceiver();
  try {
    // Bare: sign and POST the same number of bodies, 8 at a time (the worker's concurrency).
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    let next = 0;
    let t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < DELIVERIES) {
          const i = next++;
          const body = JSON.stringify({ type: 'policy.published', data: { version: i + 1 } });
          const headers = signWebhook(secret, `msg_${i}`, Math.floor(Date.now() / 1000), body);
          const response = await fetch(receiver.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body,
          });
          await response.arrayBuffer();
        }
      }),
    );
    const bareRate = (DELIVERIES * 1000) / (performance.now() - t0);

    return await withSchema(pgUrl, async ({ databaseUrl }) => {
      const server = await startServerProcess({
        adminToken,
        databaseUrl,
        env: { FIELDLINE_ALLOW_PRIVATE_WEBHOOK_URLS: '1' },
      });
      try {
        // An install token creates the tenant (tenants are made on first use).
        await fetch(`${server.url}/v1/admin/install-tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ tenant: 'bench' }),
        });
        const created = await fetch(`${server.url}/v1/admin/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            tenant: 'bench',
            url: receiver.url,
            events: ['policy.published'],
          }),
        });
        if (created.status !== 201) throw new Error(`webhook create: ${await created.text()}`);
        const before = receiver.received();
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        t0 = performance.now();
        await client.query(
          `insert into outbox (tenant_id, topic, payload)
           select 'bench', 'policy.published',
             jsonb_build_object('version', n, 'scopes', jsonb_build_array('activity'), 'devices', 0,
               'at', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           from generate_series(1, $1) n`,
          [DELIVERIES],
        );
        await client.end();
        await until(() => receiver.received() - before >= DELIVERIES);
        const workerRate = (DELIVERIES * 1000) / (performance.now() - t0);
        return { bareRate, workerRate };
      } finally {
        await server.stop();
      }
    });
  } finally {
    await receiver.close();
  }
}

/** Runs the stream and webhook benches and prints their tables. */
export async function runStreamBenches({ pgUrl, adminToken }) {
  const relay = await benchRelay(pgUrl);
  printTable(
    `event stream — ${fmt(RECORDS)} events.ingested records (PostgreSQL outbox, NATS JetStream at ${NATS_URL})`,
    ['path', 'records/s', 'vs bare JetStream publish'],
    [
      {
        path: 'bare JetStream publish, 100 in flight, awaited PubAcks',
        'records/s': fmt(relay.bareRate),
        'vs bare JetStream publish': '100%',
      },
      {
        path: 'outbox relay → JetStream (read, publish, mark published)',
        'records/s': fmt(relay.relayRate),
        'vs bare JetStream publish': `${((relay.relayRate / relay.bareRate) * 100).toFixed(0)}%`,
      },
      {
        path: 'JetStream durable consumer, no-op handler (transaction per record)',
        'records/s': fmt(relay.jetStreamConsumeRate),
        'vs bare JetStream publish': '',
      },
      {
        path: 'embedded outbox stream consumer, no-op handler',
        'records/s': fmt(relay.embeddedConsumeRate),
        'vs bare JetStream publish': '',
      },
    ],
  );
  const webhooks = await benchWebhooks(pgUrl, adminToken);
  printTable(
    `webhooks — ${fmt(DELIVERIES)} policy.published notifications to one endpoint on 127.0.0.1 (receiver answers 204)`,
    ['path', 'deliveries/s', 'vs bare signed POSTs'],
    [
      {
        path: 'bare: sign (Standard Webhooks) + fetch POST, 8 in flight',
        'deliveries/s': fmt(webhooks.bareRate),
        'vs bare signed POSTs': '100%',
      },
      {
        path: 'reference server: outbox → enqueue → dispatcher → signed POST (logged per attempt)',
        'deliveries/s': fmt(webhooks.workerRate),
        'vs bare signed POSTs': `${((webhooks.workerRate / webhooks.bareRate) * 100).toFixed(0)}%`,
      },
    ],
  );
}
