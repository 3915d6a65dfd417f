import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notificationPayloadSchemas, webhookBodySchema } from '@fieldline/core';
import { createFakeClock, createSeededRandom } from '@fieldline/core/testing';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ackCommand, ackCommands } from '../../src/commands/ack-command.js';
import { expireCommands } from '../../src/commands/expire-commands.js';
import { runDeliveryRound } from '../../src/commands/take-for-delivery.js';
import { grantConsent } from '../../src/consent/grant-consent.js';
import { publishPolicy } from '../../src/consent/publish-policy.js';
import { withdrawConsent } from '../../src/consent/withdraw-consent.js';
import { createPresenceStore } from '../../src/realtime/presence-store.js';
import { createOutboxStream } from '../../src/stream/create-outbox-stream.js';
import { createWebhookEnqueueHandler } from '../../src/webhooks/enqueue-deliveries.js';
import { signWebhook, verifyWebhookSignature } from '../../src/webhooks/webhook-signature.js';
import { startWebhookWorker, type WebhookWorker } from '../../src/webhooks/webhook-worker.js';
import { insertTenant, resetConsentTables } from '../consent/consent-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

// The verification snippet of docs/webhooks.md, verbatim: what a receiver runs.
function verifyWebhook(secret: string, headers: IncomingHttpHeaders, rawBody: string): boolean {
  const id = String(headers['webhook-id']);
  const timestamp = String(headers['webhook-timestamp']);
  const signatures = String(headers['webhook-signature']).split(' ');
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest('base64')}`;
  return signatures.some(
    (given) =>
      given.length === expected.length &&
      timingSafeEqual(Buffer.from(given), Buffer.from(expected)),
  );
}

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  answers: number[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const answers: number[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.statusCode = answers.shift() ?? 200;
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answers,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string) {
  for (let i = 0; i < 400; i += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const KEY = new Uint8Array(32).fill(7);

describe('Standard Webhooks signature', () => {
  it('matches the published test vector of the Standard Webhooks reference library', () => {
    const headers = signWebhook(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(
      verifyWebhookSignature(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        headers,
        '{"test": 2432232314}',
        1614265330 + 10,
      ),
    ).toBe(true);
    expect(
      verifyWebhookSignature(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        headers,
        '{"test": 2432232315}',
        1614265330,
      ),
    ).toBe(false);
  });
});

describeEachDatabase('signed webhooks', (current) => {
  let server: TestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let worker: WebhookWorker | undefined;
  let stream: ReturnType<typeof createOutboxStream> | undefined;

  beforeAll(async () => {
    server = await startTestServer(current().db, {
      webhookSecretKey: KEY,
      allowPrivateWebhookUrls: true,
    });
  });
  afterAll(async () => {
    // No request of these tests may end in a 500.
    expect(server.errors).toEqual([]);
    await server.close();
  });
  beforeEach(async () => {
    const { db } = current();
    await sql`truncate webhook_deliveries, webhook_endpoints, commands, outbox, stream_consumers restart identity cascade`.execute(
      db,
    );
    await resetConsentTables(db);
    await insertTenant(db, 'acme', ['dev-1']);
    await insertTenant(db, 'globex', ['dev-g']);
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await worker?.stop();
    await stream?.close();
    worker = undefined;
    stream = undefined;
    await receiver.close();
  });

  async function createEndpoint(events: string[], token = ACME_ADMIN_TOKEN, tenant = 'acme') {
    const created = await call(`${server.url}/v1/admin/webhooks`, {
      token,
      body: { tenant, url: receiver.url, events },
    });
    expect(created.status).toBe(201);
    return created.body as { id: string; secret: string };
  }

  function start(options: { clock?: ReturnType<typeof createFakeClock> } = {}) {
    const { db } = current();
    stream = createOutboxStream({ db, pollIntervalMs: 20 });
    worker = startWebhookWorker({
      db,
      stream,
      secretKey: KEY,
      allowPrivateUrls: true,
      pollIntervalMs: 20,
      random: createSeededRandom(1),
      disableAfterFailures: 3,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    return worker;
  }

  it('delivers every notification type signed, verifiable with the documented snippet', async () => {
    const { db } = current();
    const endpoint = await createEndpoint([
      'consent.granted',
      'consent.withdrawn',
      'policy.published',
      'device.online',
      'device.offline',
      'command.finished',
    ]);
    start();
    await publishPolicy(db, { tenantId: 'acme', version: 1, scopes: ['activity'], text: 'P' });
    await grantConsent(db, {
      tenantId: 'acme',
      deviceId: 'dev-1',
      method: 'admin-api',
      actor: 'admin',
    });
    await withdrawConsent(db, {
      tenantId: 'acme',
      deviceId: 'dev-1',
      method: 'agent-ui',
      actor: 'device:dev-1',
    });
    const presence = createPresenceStore(db, 'instance-a');
    await presence.markConnected('dev-1', new Date());
    await presence.markDisconnected('dev-1', new Date());
    await db
      .insertInto('commands')
      .values({
        id: 'cmd-1',
        tenant_id: 'acme',
        device_id: 'dev-1',
        type: 'ping',
        body: null,
        max_attempts: 3,
        expires_at: new Date(Date.now() - 1000),
      })
      .execute();
    await expireCommands(db, Date.now());
    // Another tenant's change never reaches acme's endpoint.
    await publishPolicy(db, { tenantId: 'globex', version: 1, scopes: ['activity'], text: 'P' });

    const expected = [
      'policy.published',
      'consent.granted',
      'consent.withdrawn',
      'device.online',
      'device.offline',
      'command.finished',
    ];
    await until(
      () => (receiver.received.length >= expected.length ? true : undefined),
      'deliveries',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(expected.length);
    const types: string[] = [];
    for (const delivery of receiver.received) {
      expect(verifyWebhook(endpoint.secret, delivery.headers, delivery.body)).toBe(true);
      expect(verifyWebhook(endpoint.secret, delivery.headers, `${delivery.body} `)).toBe(false);
      const body = webhookBodySchema.parse(JSON.parse(delivery.body));
      expect(body.tenant).toBe('acme');
      notificationPayloadSchemas[body.type].parse(body.data);
      types.push(body.type);
    }
    expect(types.sort()).toEqual([...expected].sort());
    const finished = receiver.received
      .map((delivery) => JSON.parse(delivery.body))
      .find((body) => body.type === 'command.finished');
    expect(finished.data).toMatchObject({
      commandId: 'cmd-1',
      status: 'expired',
      commandType: 'ping',
    });
  });

  it('writes command.finished for acks, batched acks and failed deliveries, with the change', async () => {
    const { db } = current();
    const expires = new Date(Date.now() + 3_600_000);
    const command = (id: string, attempts = 0) => ({
      id,
      tenant_id: 'acme',
      device_id: 'dev-1',
      type: 'ping',
      body: null,
      max_attempts: 1,
      attempts,
      status: 'sent' as const,
      expires_at: expires,
    });
    await db
      .insertInto('commands')
      .values([command('cmd-a', 1), command('cmd-b', 1), command('cmd-c', 1), command('cmd-d', 1)])
      .execute();
    await ackCommand(db, 'dev-1', 'cmd-a', { status: 'acked' }, Date.now());
    // Acking again changes nothing, and notifies nothing.
    await ackCommand(db, 'dev-1', 'cmd-a', { status: 'rejected' }, Date.now());
    await ackCommands(
      db,
      [{ deviceId: 'dev-1', commandId: 'cmd-b', status: 'rejected', reason: 'no' }],
      Date.now(),
    );
    // A sent command whose ack timed out with its attempts used up fails in a delivery round.
    await runDeliveryRound(db, ['dev-1'], {
      nowMs: Date.now() + 60_000,
      ackTimeoutMs: 1,
      onlyDue: true,
      limit: 10,
    });
    const rows = await db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', 'command.finished')
      .orderBy('seq')
      .execute();
    const finished = rows.map((row) =>
      notificationPayloadSchemas['command.finished'].parse(row.payload),
    );
    expect(finished.map(({ commandId, status }) => `${commandId}:${status}`).sort()).toEqual([
      'cmd-a:acked',
      'cmd-b:rejected',
      'cmd-c:failed',
      'cmd-d:failed',
    ]);
  });

  it('retries a 500 with backoff, then succeeds; a replayed record makes no second delivery', async () => {
    const { db } = current();
    const clock = createFakeClock({ nowMs: Date.now() });
    const endpoint = await createEndpoint(['policy.published']);
    receiver.answers.push(500);
    const running = start({ clock });
    await publishPolicy(db, { tenantId: 'acme', version: 1, scopes: ['activity'], text: 'P' });
    await until(() => (receiver.received.length === 1 ? true : undefined), 'first attempt');
    const failed = await until(async () => {
      const row = await db.selectFrom('webhook_deliveries').selectAll().executeTakeFirst();
      return row?.status === 'failed' ? row : undefined;
    }, 'failed status');
    const delayMs = failed.next_attempt_at!.getTime() - clock.now();
    // About 30 s ± 25 %.
    expect(delayMs).toBeGreaterThanOrEqual(22_000);
    expect(delayMs).toBeLessThanOrEqual(38_000);
    expect(await running.dispatchNow()).toBe(0);
    clock.advance(delayMs + 1);
    await until(() => (receiver.received.length === 2 ? true : undefined), 'retry');
    const [first, second] = receiver.received;
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    await until(async () => {
      const row = await db.selectFrom('webhook_deliveries').select('status').executeTakeFirst();
      return row?.status === 'succeeded' ? true : undefined;
    }, 'success');
    const listed = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/deliveries`, {
      token: ACME_ADMIN_TOKEN,
    });
    expect(listed.status).toBe(200);
    expect(listed.body.deliveries).toHaveLength(1);
    expect(listed.body.deliveries[0]).toMatchObject({
      type: 'policy.published',
      status: 'succeeded',
      attempts: 2,
      nextAttemptAt: null,
      lastStatusCode: 200,
    });
    expect(
      listed.body.deliveries[0].attemptLog.map((entry: { statusCode: number }) => entry.statusCode),
    ).toEqual([500, 200]);

    // Replaying the stream (position back to 0) offers the record again: no new delivery.
    await running.stop();
    await stream!.close();
    await db.updateTable('stream_consumers').set({ position: 0 }).execute();
    const handler = createWebhookEnqueueHandler();
    const record = await db
      .selectFrom('outbox')
      .selectAll()
      .where('topic', '=', 'policy.published')
      .executeTakeFirstOrThrow();
    await handler(
      {
        seq: record.seq,
        tenantId: record.tenant_id,
        topic: record.topic,
        payload: record.payload,
        createdAt: record.created_at,
      },
      { consumer: 'webhooks', attempt: 1, db, deferUntilCommit: () => undefined },
    );
    const count = await db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    worker = undefined;
    stream = undefined;
  });

  it('disables an endpoint after failures, audits and reports it; re-enabling resets; redeliver sends again', async () => {
    const { db } = current();
    const endpoint = await createEndpoint([
      'consent.granted',
      'consent.withdrawn',
      'policy.published',
    ]);
    receiver.answers.push(500, 500, 500);
    start();
    await publishPolicy(db, { tenantId: 'acme', version: 1, scopes: ['activity'], text: 'P' });
    await grantConsent(db, {
      tenantId: 'acme',
      deviceId: 'dev-1',
      method: 'admin-api',
      actor: 'admin',
    });
    await withdrawConsent(db, {
      tenantId: 'acme',
      deviceId: 'dev-1',
      method: 'admin-api',
      actor: 'admin',
    });
    const disabled = await until(async () => {
      const got = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}`, {
        token: ACME_ADMIN_TOKEN,
      });
      return got.body.enabled === false ? got.body : undefined;
    }, 'disabled endpoint');
    expect(disabled).toMatchObject({ disabledReason: 'failures', consecutiveFailures: 3 });
    const audit = await db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'webhook.endpoint_disabled')
      .execute();
    expect(audit).toHaveLength(1);
    const reported = await db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', 'webhook.endpoint_disabled')
      .execute();
    expect(reported).toHaveLength(1);
    expect(reported[0]!.payload).toMatchObject({ endpointId: endpoint.id, reason: 'failures' });

    const enabled = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}`, {
      method: 'PATCH',
      token: ACME_ADMIN_TOKEN,
      body: { enabled: true },
    });
    expect(enabled.body).toMatchObject({
      enabled: true,
      consecutiveFailures: 0,
      disabledReason: null,
    });

    const deliveries = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/deliveries`, {
      token: ACME_ADMIN_TOKEN,
    });
    const one = deliveries.body.deliveries[0];
    const before = receiver.received.length;
    const redelivered = await call(
      `${server.url}/v1/admin/webhook-deliveries/${one.id}/redeliver`,
      {
        method: 'POST',
        token: ACME_ADMIN_TOKEN,
      },
    );
    expect(redelivered.status).toBe(200);
    expect(redelivered.body.status).toBe('succeeded');
    expect(redelivered.body.attemptLog.at(-1)).toMatchObject({ statusCode: 200 });
    expect(receiver.received.length).toBeGreaterThan(before);
  });

  it('counts a secret that does not open under the key as a failed attempt, sending nothing', async () => {
    const { db } = current();
    await createEndpoint(['policy.published']);
    stream = createOutboxStream({ db, pollIntervalMs: 20 });
    worker = startWebhookWorker({
      db,
      stream,
      secretKey: new Uint8Array(32).fill(9),
      allowPrivateUrls: true,
      pollIntervalMs: 20,
    });
    await publishPolicy(db, { tenantId: 'acme', version: 1, scopes: ['activity'], text: 'P' });
    const failed = await until(async () => {
      const row = await db.selectFrom('webhook_deliveries').selectAll().executeTakeFirst();
      return row?.status === 'failed' ? row : undefined;
    }, 'failed delivery');
    expect(failed).toMatchObject({
      attempts: 1,
      last_error: 'secret_unreadable',
      last_status_code: null,
    });
    expect(receiver.received).toEqual([]);
  });

  it('410 Gone disables the endpoint at once; the test route answers the result', async () => {
    const endpoint = await createEndpoint(['policy.published']);
    receiver.answers.push(410);
    const tested = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/test`, {
      method: 'POST',
      token: ACME_ADMIN_TOKEN,
    });
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({
      type: 'webhook.test',
      status: 'dead',
      lastStatusCode: 410,
    });
    const ok = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/test`, {
      method: 'POST',
      token: ACME_ADMIN_TOKEN,
    });
    expect(ok.body).toMatchObject({ status: 'succeeded', lastStatusCode: 200 });
    const last = receiver.received.at(-1)!;
    expect(verifyWebhook(endpoint.secret, last.headers, last.body)).toBe(true);
  });

  it('rotating the secret answers a new one once; the old one signs too during the overlap only', async () => {
    const endpoint = await createEndpoint(['policy.published']);
    const overlapping = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/rotate-secret`, {
      method: 'POST',
      token: ACME_ADMIN_TOKEN,
    });
    expect(overlapping.status).toBe(200);
    expect(overlapping.body.previousSecretExpiresAt).toEqual(expect.any(String));
    await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/test`, {
      method: 'POST',
      token: ACME_ADMIN_TOKEN,
    });
    const during = receiver.received.at(-1)!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyWebhook(overlapping.body.secret, during.headers, during.body)).toBe(true);
    expect(verifyWebhook(endpoint.secret, during.headers, during.body)).toBe(true);

    const rotated = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/rotate-secret`, {
      token: ACME_ADMIN_TOKEN,
      body: { overlapSeconds: 0 },
    });
    expect(rotated.body.previousSecretExpiresAt).toBeNull();
    const badOverlap = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/rotate-secret`, {
      token: ACME_ADMIN_TOKEN,
      body: { overlapSeconds: -1 },
    });
    expect(badOverlap.status).toBe(400);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    const read = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}`, {
      token: ACME_ADMIN_TOKEN,
    });
    expect(read.body.secret).toBeUndefined();
    await call(`${server.url}/v1/admin/webhooks/${endpoint.id}/test`, {
      method: 'POST',
      token: ACME_ADMIN_TOKEN,
    });
    const last = receiver.received.at(-1)!;
    expect(verifyWebhook(rotated.body.secret, last.headers, last.body)).toBe(true);
    expect(verifyWebhook(endpoint.secret, last.headers, last.body)).toBe(false);
    expect(verifyWebhook(overlapping.body.secret, last.headers, last.body)).toBe(false);
    const stored = await current()
      .db.selectFrom('webhook_endpoints')
      .select('secret_ciphertext')
      .executeTakeFirstOrThrow();
    expect(stored.secret_ciphertext).not.toContain(rotated.body.secret.slice(6));
  });

  it('keeps tenants apart and answers bad input with 400', async () => {
    const endpoint = await createEndpoint(['policy.published']);
    const other = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}`, {
      token: GLOBEX_ADMIN_TOKEN,
    });
    expect(other.status).toBe(404);
    const list = await call(`${server.url}/v1/admin/webhooks`, { token: GLOBEX_ADMIN_TOKEN });
    expect(list.body.webhooks).toEqual([]);
    const foreign = await call(`${server.url}/v1/admin/webhooks`, {
      token: GLOBEX_ADMIN_TOKEN,
      body: { tenant: 'acme', url: receiver.url, events: ['policy.published'] },
    });
    expect(foreign.status).toBe(404);
    for (const body of [
      { tenant: 'acme', url: 'ftp://example.com/x', events: ['policy.published'] },
      { tenant: 'acme', url: 'https://example.com/x', events: [] },
      { tenant: 'acme', url: 'https://example.com/x', events: ['no.such'] },
      { tenant: 'acme', url: 'not a url', events: ['policy.published'] },
      { tenant: 'acme', url: 'https://user:pw@example.com/x', events: ['policy.published'] },
      {
        tenant: 'acme',
        url: 'https://example.com/x',
        events: ['policy.published', 'policy.published'],
      },
      { tenant: 'acme', url: 'https://example.com/x', events: ['policy.published'], extra: 1 },
    ]) {
      const bad = await call(`${server.url}/v1/admin/webhooks`, { token: ACME_ADMIN_TOKEN, body });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
    }
    const patch = await call(`${server.url}/v1/admin/webhooks/${endpoint.id}`, {
      method: 'PATCH',
      token: ACME_ADMIN_TOKEN,
      body: {},
    });
    expect(patch.status).toBe(400);
  });

  it('refuses private and loopback URLs by default', async () => {
    const strict = await startTestServer(current().db, { webhookSecretKey: KEY });
    try {
      for (const url of [
        'http://127.0.0.1:9/x',
        'http://10.0.0.1/x',
        'http://[::1]/x',
        'http://localhost/x',
        'http://169.254.169.254/latest',
      ]) {
        const refused = await call(`${strict.url}/v1/admin/webhooks`, {
          token: ACME_ADMIN_TOKEN,
          body: { tenant: 'acme', url, events: ['policy.published'] },
        });
        expect(refused.status, url).toBe(400);
      }
      const allowed = await call(`${strict.url}/v1/admin/webhooks`, {
        token: ACME_ADMIN_TOKEN,
        body: { tenant: 'acme', url: 'https://hooks.example.com/x', events: ['policy.published'] },
      });
      expect(allowed.status).toBe(201);
    } finally {
      await strict.close();
    }
  });
});
