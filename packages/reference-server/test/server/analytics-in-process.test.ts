// The analytics consumer inside the reference server: an event sent over real HTTP ends in the
// `aggregates` rows, its lag is on /metrics, and `analytics: false` leaves it to a worker.
import { randomBytes, randomUUID } from 'node:crypto';
import { createEventIdGenerator, SealKind } from '@fieldline/core';
import { createDatabase } from '@fieldline/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { captureLogger } from '../support/capture-logger.js';
import { enrollTestDevice, issueInstallToken, sealedBody } from '../support/device-client.js';
import { postJson } from '../support/http.js';
import { makeTempDir } from '../support/temp-dir.js';

const newEventId = createEventIdGenerator();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  analytics?: boolean,
  logger = captureLogger().logger,
  databaseUrl?: string,
): Promise<RunningServer> {
  const dir = await makeTempDir();
  const server = await startServer({
    port: 0,
    dataDir: dir.path,
    logger,
    ...(analytics === undefined ? {} : { analytics }),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
  });
  cleanups.push(
    () => dir.remove(),
    () => server.stop(),
  );
  return server;
}

/** Enrolls a device of `default`, grants it `activity`, and sends one launch event. */
async function sendLaunch(
  server: RunningServer,
): Promise<{ deviceId: string; occurredAt: string }> {
  const installToken = await issueInstallToken(server.url, server.adminToken, 'default');
  const device = await enrollTestDevice(server.url, installToken);
  const policy = await postJson(`${server.url}/v1/admin/policies`, server.adminToken, {
    tenant: 'default',
    version: 1,
    scopes: ['activity'],
    text: 'We count application launches.',
  });
  expect(policy.status).toBe(201);
  const granted = await postJson(
    `${server.url}/v1/admin/devices/${encodeURIComponent(device.deviceId)}/consent`,
    server.adminToken,
    { action: 'grant', scopes: ['activity'] },
  );
  expect(granted.status).toBe(200);
  // After the grant: consent is checked at the event's time.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const occurredAt = new Date().toISOString();
  const batch = {
    batchId: randomUUID(),
    sentAt: new Date().toISOString(),
    events: [
      {
        id: newEventId(),
        type: 'activity.app.launched',
        occurredAt,
        seq: 1,
        scope: 'activity',
        data: { app: 'editor' },
      },
    ],
  };
  const response = await fetch(`${server.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${device.deviceToken}`, 'content-type': 'application/json' },
    body: await sealedBody(device, SealKind.EventBatch, JSON.stringify(batch)),
  });
  const answer = (await response.json()) as { results?: Array<{ status: string }> };
  expect(response.status, JSON.stringify(answer)).toBe(200);
  expect(answer.results?.[0]?.status, JSON.stringify(answer)).toBe('accepted');
  return { deviceId: device.deviceId, occurredAt };
}

/** Waits until the launch `sendLaunch` sent is in the device's daily rows. */
async function expectLaunchCounted(server: RunningServer, deviceId: string, occurredAt: string) {
  const { db } = server.app.context;
  await expect
    .poll(
      async () =>
        db
          .selectFrom('aggregates')
          .select(['day', 'app', 'launches'])
          .where('device_id', '=', deviceId)
          .execute(),
      { timeout: 10_000, interval: 20 },
    )
    .toEqual([{ day: occurredAt.slice(0, 10), app: 'editor', launches: 1 }]);
}

describe('the analytics consumer in the reference server', () => {
  it('runs by default: events sent over HTTP reach the daily rows, and its lag is on /metrics', async () => {
    const server = await start();
    expect(server.analytics?.name).toBe('analytics');
    const { deviceId, occurredAt } = await sendLaunch(server);
    await expectLaunchCounted(server, deviceId, occurredAt);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('# TYPE fieldline_stream_consumer_lag_records gauge');
    expect(text).toContain('fieldline_stream_consumer_lag_records{consumer="analytics"} 0');
    expect(text).toContain('fieldline_stream_consumer_lag_seconds{consumer="analytics"} 0');
  });

  it('leaves the stream to a worker with analytics: false', async () => {
    const server = await start(false);
    expect(server.analytics).toBeUndefined();
    const { deviceId } = await sendLaunch(server);
    const { db } = server.app.context;
    const outbox = await db.selectFrom('outbox').select('seq').execute();
    expect(outbox.length).toBeGreaterThan(0);
    // Long enough for an in-process consumer (polling every 250 ms) to have acted.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await db.selectFrom('aggregates').where('device_id', '=', deviceId).execute()).toEqual(
      [],
    );
    // The webhook worker still consumes in process; no analytics consumer was started.
    const consumers = await db.selectFrom('stream_consumers').select('name').execute();
    expect(consumers.map((row) => row.name)).not.toContain('analytics');
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).not.toMatch(/fieldline_stream_consumer_lag_records\{/);
  });
});

const url = process.env.TEST_DATABASE_URL;

describe.skipIf(url === undefined || url === '')('the analytics consumer on PostgreSQL', () => {
  it('runs in a worker thread of the server: rows, lag on /metrics, logs through the server', async () => {
    const schema = `fl_rs_thread_${randomBytes(6).toString('hex')}`;
    const admin = await createDatabase({ connectionString: url as string, maxConnections: 1 });
    await admin.db.schema.createSchema(schema).execute();
    cleanups.push(async () => {
      await admin.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await admin.close();
    });
    const connection = new URL(url as string);
    connection.searchParams.set('options', `-c search_path=${schema}`);
    const captured = captureLogger();
    const server = await start(undefined, captured.logger, connection.toString());
    expect(server.analytics?.name).toBe('analytics');
    // The thread's own log line, through the server's logger: the consumer is not on this loop.
    expect(captured.records()).toContainEqual(
      expect.objectContaining({ worker: 'analytics', msg: 'worker started' }),
    );
    const { deviceId, occurredAt } = await sendLaunch(server);
    await expectLaunchCounted(server, deviceId, occurredAt);
    await expect
      .poll(async () => (await fetch(`${server.url}/metrics`)).text(), { timeout: 5_000 })
      .toContain('fieldline_stream_consumer_lag_records{consumer="analytics"} 0');
  });
});
