// Dead letters over real HTTP: a batch whose store fails is kept (503 to the device), listed
// per tenant with filters and pages, and replayed through the pipeline exactly once.
import { randomUUID } from 'node:crypto';
import {
  encodeSealedBody,
  generateIdentity,
  type Identity,
  listDeadLettersResponseSchema,
  publicKeysOf,
  replayDeadLetterResponseSchema,
  SealKind,
  sealJson,
} from '@fieldline/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

interface Device {
  identity: Identity;
  deviceId: string;
  deviceToken: string;
  serverKey: string;
}

let seq = 0;
function launched(app: string) {
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return {
    id,
    type: 'activity.app.launched',
    occurredAt: new Date().toISOString(),
    seq: seq++,
    scope: 'activity',
    data: { app },
  };
}

describeEachDatabase('dead letters over HTTP', (current) => {
  let server: TestServer;
  let device: Device;

  async function postEvents(events: unknown[]) {
    const frame = await sealJson({
      kind: SealKind.EventBatch,
      senderId: device.deviceId,
      messageId: randomUUID(),
      timestampMs: Date.now(),
      payload: { batchId: randomUUID(), sentAt: new Date().toISOString(), events },
      recipientEncryptionPublicKey: device.serverKey,
      sender: device.identity,
    });
    return call(`${server.url}/v1/events`, {
      token: device.deviceToken,
      body: encodeSealedBody(frame),
    });
  }

  // Storage that fails the way a full disk or a lost table would: inside the store's transaction.
  async function breakStorage() {
    const { db } = current();
    await sql`create or replace function fail_event_insert() returns trigger language plpgsql as $$
      begin raise exception 'could not extend file: No space left on device (simulated)'; end $$`.execute(
      db,
    );
    await sql`create trigger events_fail before insert on events for each row execute function fail_event_insert()`.execute(
      db,
    );
  }
  async function repairStorage() {
    await sql`drop trigger events_fail on events`.execute(current().db);
  }

  async function storedEventIds(): Promise<string[]> {
    const stored = await call(
      `${server.url}/v1/admin/devices/${device.deviceId}/events?limit=1000`,
      { token: OPERATOR_TOKEN },
    );
    return stored.body.events.map((event: { id: string }) => event.id).sort();
  }

  async function list(query: string, token = ACME_ADMIN_TOKEN) {
    return call(`${server.url}/v1/admin/dead-letters${query}`, { token });
  }

  function replay(id: string, token = ACME_ADMIN_TOKEN) {
    return call(`${server.url}/v1/admin/dead-letters/${id}/replay`, { token, method: 'POST' });
  }

  beforeAll(async () => {
    server = await startTestServer(current().db);
    await call(`${server.url}/v1/admin/policies`, {
      token: OPERATOR_TOKEN,
      body: { tenant: 'acme', version: 1, scopes: ['activity'], text: 'App activity.' },
    });
    const install = await call(`${server.url}/v1/admin/install-tokens`, {
      token: OPERATOR_TOKEN,
      body: { tenant: 'acme' },
    });
    const identity = await generateIdentity();
    const enrolled = await call(`${server.url}/v1/enroll`, {
      token: install.body.token,
      body: { hostname: 'dl-01', os: 'linux', arch: 'x64', publicKeys: publicKeysOf(identity) },
    });
    device = {
      identity,
      deviceId: enrolled.body.deviceId,
      deviceToken: enrolled.body.deviceToken,
      serverKey: enrolled.body.serverPublicKeys.encryptionPublicKey,
    };
    await call(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
      body: { action: 'grant', scopes: ['activity'] },
    });
  });
  afterAll(async () => {
    // Storage failures reach onError by design (a dead letter is kept, the device told 503).
    await server.close();
  });

  it('keeps batches whose store failed and lists them per tenant, filtered and paged', async () => {
    await breakStorage();
    const batches = [[launched('calc'), launched('mail')], [launched('term')], [launched('edit')]];
    for (const events of batches) {
      const answer = await postEvents(events);
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('unavailable');
      expect(answer.headers.get('retry-after')).toBe('5');
    }
    await repairStorage();

    const all = await list('');
    expect(all.status).toBe(200);
    const page = listDeadLettersResponseSchema.parse(all.body);
    expect(page.nextCursor).toBeNull();
    expect(page.deadLetters.map((letter) => letter.eventCount)).toEqual([2, 1, 1]);
    expect(page.deadLetters[0]).toMatchObject({
      tenant: 'acme',
      deviceId: device.deviceId,
      kind: 'events',
      replay: null,
    });
    expect(page.deadLetters[0]?.reason).toMatch(/No space left on device/);

    const first = await list('?limit=2');
    expect(first.body.deadLetters).toHaveLength(2);
    expect(first.body.nextCursor).toBe(first.body.deadLetters[1].id);
    const second = await list(`?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.deadLetters.map((l: { id: string }) => l.id)).toEqual([
      page.deadLetters[2]?.id,
    ]);
    expect(second.body.nextCursor).toBeNull();

    expect(
      (await list(`?device=${device.deviceId}&reason=NO%20SPACE`)).body.deadLetters,
    ).toHaveLength(3);
    expect((await list('?reason=connection%20refused')).body.deadLetters).toEqual([]);
    expect((await list('?device=dev_someone_else')).body.deadLetters).toEqual([]);
    expect((await list('?status=new')).body.deadLetters).toHaveLength(3);
    expect((await list('?status=replayed')).body.deadLetters).toEqual([]);
    expect((await list('', OPERATOR_TOKEN)).body.deadLetters).toHaveLength(3);
    expect((await list('', GLOBEX_ADMIN_TOKEN)).body.deadLetters).toEqual([]);

    for (const query of ['?limit=0', '?limit=501', '?cursor=abc', '?cursor=-1', '?status=lost']) {
      const refused = await list(query);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('invalid_request');
    }
    const anonymous = await call(`${server.url}/v1/admin/dead-letters`);
    expect(anonymous.status).toBe(401);
    expect(
      (await call(`${server.url}/v1/admin/dead-letters`, { token: device.deviceToken })).status,
    ).toBe(401);
  });

  it('replays a dead letter once: stored, recorded, audited; a second replay stores nothing', async () => {
    const [letter] = (await list('')).body.deadLetters;
    const events = await storedEventIds();

    // Another tenant's admin cannot see it; an unknown id is 404 too.
    expect((await replay(letter.id, GLOBEX_ADMIN_TOKEN)).status).toBe(404);
    expect((await replay('999999')).status).toBe(404);
    expect((await replay('abc')).status).toBe(404);

    const done = await replay(letter.id);
    expect(done.status).toBe(200);
    const body = replayDeadLetterResponseSchema.parse(done.body);
    expect(body.alreadyReplayed).toBe(false);
    expect(body.deadLetter.replay).toMatchObject({
      status: 'replayed',
      attempts: 1,
      result: { accepted: 2, duplicates: 0, rejected: 0 },
      error: null,
    });
    const afterFirst = await storedEventIds();
    expect(afterFirst).toHaveLength(events.length + 2);

    const again = await replay(letter.id);
    expect(again.status).toBe(200);
    expect(again.body.alreadyReplayed).toBe(true);
    expect(again.body.deadLetter.replay.attempts).toBe(1);
    expect(await storedEventIds()).toEqual(afterFirst);
    expect(
      (await list('?status=replayed')).body.deadLetters.map((l: { id: string }) => l.id),
    ).toEqual([letter.id]);

    const audit = await call(`${server.url}/v1/admin/audit?limit=1000`, {
      token: ACME_ADMIN_TOKEN,
    });
    const rows = audit.body.entries.filter(
      (entry: { action: string }) => entry.action === 'dead_letter.replayed',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant: 'acme',
      actor: 'admin:acme',
      subject: `dead_letter:${letter.id}`,
      details: { deviceId: device.deviceId, accepted: 2, duplicates: 0 },
    });
  });

  it('counts events the device resent meanwhile as duplicates, never storing them twice', async () => {
    const letters = (await list('?status=new')).body.deadLetters;
    const letter = letters[0];
    const payload = await current()
      .db.selectFrom('dead_letters')
      .select('payload')
      .where('seq', '=', Number(letter.id))
      .executeTakeFirstOrThrow();
    const kept = (payload.payload as { events: Array<Record<string, unknown>> }).events;
    // The device's retry after the 503: the same events in a new sealed message.
    const resent = await postEvents(kept);
    expect(resent.body.accepted).toBe(1);
    const before = await storedEventIds();
    const done = await replay(letter.id);
    expect(done.body.deadLetter.replay.result).toEqual({ accepted: 0, duplicates: 1, rejected: 0 });
    expect(await storedEventIds()).toEqual(before);
  });

  it('records a failed replay, keeps the dead letter, and succeeds once storage is back', async () => {
    const [letter] = (await list('?status=new')).body.deadLetters;
    const count = async () => (await list('', OPERATOR_TOKEN)).body.deadLetters.length as number;
    const lettersBefore = await count();
    await breakStorage();
    const failed = await replay(letter.id);
    await repairStorage();
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('unavailable');
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(await count()).toBe(lettersBefore);
    const [recorded] = (await list('?status=failed')).body.deadLetters;
    expect(recorded).toMatchObject({ id: letter.id, replay: { status: 'failed', attempts: 1 } });
    expect(recorded.replay.error).toMatch(/No space left on device/);

    const retried = await replay(letter.id);
    expect(retried.status).toBe(200);
    expect(retried.body.deadLetter.replay).toMatchObject({
      status: 'replayed',
      attempts: 2,
      result: { accepted: 1 },
      error: null,
    });
    const audit = await call(`${server.url}/v1/admin/audit?limit=1000`, { token: OPERATOR_TOKEN });
    const actions = audit.body.entries
      .filter((entry: { subject: string | null }) => entry.subject === `dead_letter:${letter.id}`)
      .map((entry: { action: string }) => entry.action);
    expect(actions).toEqual(['dead_letter.replay_failed', 'dead_letter.replayed']);
    expect(
      (await call(`${server.url}/v1/admin/audit/verify`, { token: OPERATOR_TOKEN })).body.ok,
    ).toBe(true);
  });
});
