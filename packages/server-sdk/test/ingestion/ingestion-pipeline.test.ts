import { generateIdentity, type Identity } from '@fieldline/core';
import { createFakeClock, type FakeClock } from '@fieldline/core/testing';
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ConsentHistorySource,
  type ConsentRefusalAuditEntry,
  createIngestionPipeline,
  type DefaultIngestionDeps,
  defaultIngestionSteps,
  type IngestionSummary,
  ingestionStep,
  insertStepAfter,
  insertStepBefore,
  pendingEntries,
  replaceStep,
  runIngestion,
} from '../../src/ingestion/index.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  createTestDevice,
  makeBatch,
  makeEvents,
  type SealOptions,
  sealedBody,
  type TestDevice,
} from './ingestion-fixtures.js';

// Consent for the tests: `activity` and `operational` are granted, `network` never is.
const consent: ConsentHistorySource = {
  historyFor: async () => ({ canCollectAt: (scope) => scope !== 'network' }),
};

describeEachDatabase('ingestion pipeline', (current) => {
  let clock: FakeClock;
  let server: Identity;
  let device: TestDevice;
  let audits: ConsentRefusalAuditEntry[];

  beforeEach(async () => {
    clock = createFakeClock({ nowMs: Date.now() });
    server = await generateIdentity();
    device = await createTestDevice(current().db);
    audits = [];
  });

  const steps = (overrides: Partial<DefaultIngestionDeps> = {}) =>
    defaultIngestionSteps({
      db: current().db,
      serverIdentity: server,
      consent,
      audit: (entry) => {
        audits.push(entry);
      },
      clock,
      ...overrides,
    });

  const seal = (payload: unknown, options?: SealOptions) =>
    sealedBody(device, server, clock, payload, options);

  async function storedIds(deviceId = device.id): Promise<string[]> {
    const rows = await current()
      .db.selectFrom('events')
      .select('id')
      .where('device_id', '=', deviceId)
      .orderBy('seq')
      .execute();
    return rows.map((row) => row.id);
  }

  it('stores a valid batch exactly once, with one outbox message', async () => {
    const pipeline = createIngestionPipeline(steps());
    const events = makeEvents(clock, 5);
    const batch = makeBatch(events);
    const result = await runIngestion(pipeline, { device, rawBody: await seal(batch) });
    expect(result).toEqual({
      batchId: batch.batchId,
      results: events.map((event) => ({ id: event.id, status: 'accepted' })),
      accepted: 5,
      duplicates: 0,
      rejected: 0,
    });
    expect(await storedIds()).toEqual(events.map((event) => event.id));
    const row = await current()
      .db.selectFrom('events')
      .selectAll()
      .where('id', '=', events[0]!.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      tenant_id: 'acme',
      device_id: device.id,
      type: 'activity.system.active',
      scope: 'activity',
      seq: 0,
      data: { idleForMs: 1000 },
    });
    const outbox = await current()
      .db.selectFrom('outbox')
      .selectAll()
      .where(sql<boolean>`payload->>'deviceId' = ${device.id}`)
      .execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ topic: 'events.ingested', tenant_id: 'acme' });
    expect(outbox[0]!.payload).toMatchObject({ batchId: batch.batchId, count: 5 });

    // The same batch sealed again (new message id): every event is a duplicate.
    const again = await runIngestion(pipeline, { device, rawBody: await seal(batch) });
    expect(again.results.every((r) => r.status === 'duplicate')).toBe(true);
    expect(again).toMatchObject({ accepted: 0, duplicates: 5, rejected: 0 });
    expect(await storedIds()).toHaveLength(5);
    const outboxAfter = await current()
      .db.selectFrom('outbox')
      .select('seq')
      .where(sql<boolean>`payload->>'deviceId' = ${device.id}`)
      .execute();
    expect(outboxAfter).toHaveLength(1);
  });

  it('marks a repeated id within a batch as duplicate', async () => {
    const pipeline = createIngestionPipeline(steps());
    const [a, b] = makeEvents(clock, 2);
    const batch = makeBatch([a, b, a, { ...b, id: b!.id.toUpperCase() }]);
    const result = await runIngestion(pipeline, { device, rawBody: await seal(batch) });
    expect(result.results.map((r) => r.status)).toEqual([
      'accepted',
      'accepted',
      'duplicate',
      'duplicate',
    ]);
    expect(result).toMatchObject({ accepted: 2, duplicates: 2 });
    expect(await storedIds()).toEqual([a!.id, b!.id]);
  });

  it('answers per event, in order, storing only valid consented events, and audits once', async () => {
    const pipeline = createIngestionPipeline(steps());
    const [valid1, valid2] = makeEvents(clock, 2);
    const [network1, network2] = makeEvents(clock, 2, 'activity.network.volume');
    const invalid = { ...makeEvents(clock, 1)[0]!, data: { idleForMs: -1 } };
    const unknown = { ...makeEvents(clock, 1)[0]!, type: 'custom.thing.happened' };
    const batch = makeBatch([valid1, invalid, network1, unknown, 42, valid2, network2]);
    const result = await runIngestion(pipeline, { device, rawBody: await seal(batch) });
    expect(result.results).toEqual([
      { id: valid1!.id, status: 'accepted' },
      { id: invalid.id, status: 'rejected', code: 'invalid_event', message: expect.any(String) },
      {
        id: network1!.id,
        status: 'rejected',
        code: 'consent_required',
        message: expect.stringContaining('network'),
      },
      {
        id: unknown.id,
        status: 'rejected',
        code: 'unknown_event_type',
        message: expect.any(String),
      },
      { id: '', status: 'rejected', code: 'invalid_event', message: expect.any(String) },
      { id: valid2!.id, status: 'accepted' },
      {
        id: network2!.id,
        status: 'rejected',
        code: 'consent_required',
        message: expect.any(String),
      },
    ]);
    expect(result).toMatchObject({ accepted: 2, duplicates: 0, rejected: 5 });
    expect(await storedIds()).toEqual([valid1!.id, valid2!.id]);
    expect(audits).toEqual([
      {
        action: 'events.consent_refused',
        tenantId: 'acme',
        deviceId: device.id,
        batchId: batch.batchId,
        messageId: expect.any(String),
        at: expect.any(Date),
        refusedCount: 2,
        scopes: ['network'],
        eventIds: [network1!.id, network2!.id],
      },
    ]);
  });

  it('checks consent at each event occurredAt', async () => {
    const grantedAtMs = clock.now() - 10_000;
    const pipeline = createIngestionPipeline(
      steps({
        consent: {
          historyFor: async () => ({ canCollectAt: (_scope, atMs) => atMs >= grantedAtMs }),
        },
      }),
    );
    const [before] = makeEvents(createFakeClock({ nowMs: grantedAtMs - 1 }), 1);
    const [after] = makeEvents(clock, 1);
    const result = await runIngestion(pipeline, {
      device,
      rawBody: await seal(makeBatch([before, after])),
    });
    expect(result.results.map((r) => r.status)).toEqual(['rejected', 'accepted']);
  });

  it('refuses a replayed frame with 409', async () => {
    const pipeline = createIngestionPipeline(steps());
    const body = await seal(makeBatch(makeEvents(clock, 1)));
    await runIngestion(pipeline, { device, rawBody: body });
    await expect(runIngestion(pipeline, { device, rawBody: body })).rejects.toMatchObject({
      code: 'replayed',
      status: 409,
    });
  });

  it('refuses a tampered frame with 401', async () => {
    const pipeline = createIngestionPipeline(steps());
    const body = JSON.parse(new TextDecoder().decode(await seal(makeBatch(makeEvents(clock, 1)))));
    const sealed: string = body.sealed;
    const i = 120;
    const flipped = sealed.slice(0, i) + (sealed[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
    const rawBody = new TextEncoder().encode(JSON.stringify({ sealed: flipped }));
    await expect(runIngestion(pipeline, { device, rawBody })).rejects.toMatchObject({
      code: 'bad_signature',
      status: 401,
    });
    expect(await storedIds()).toEqual([]);
  });

  it("refuses a frame signed with another device's key with 401", async () => {
    const pipeline = createIngestionPipeline(steps());
    const other = await createTestDevice(current().db);
    const rawBody = await seal(makeBatch(makeEvents(clock, 1)), { signer: other.identity });
    await expect(runIngestion(pipeline, { device, rawBody })).rejects.toMatchObject({
      code: 'bad_signature',
      status: 401,
    });
  });

  it('refuses a frame whose sender id is not the authenticated device with 401', async () => {
    const pipeline = createIngestionPipeline(steps());
    const other = await createTestDevice(current().db);
    // Sealed and signed correctly by `other`, but presented with `device`'s credentials.
    const rawBody = await sealedBody(other, server, clock, makeBatch(makeEvents(clock, 1)));
    await expect(runIngestion(pipeline, { device, rawBody })).rejects.toMatchObject({
      code: 'bad_signature',
      status: 401,
      details: { reason: 'sender_mismatch' },
    });
    // Even the device's own key cannot claim another sender id.
    const renamed = await seal(makeBatch(makeEvents(clock, 1)), { senderId: other.id });
    await expect(runIngestion(pipeline, { device, rawBody: renamed })).rejects.toMatchObject({
      code: 'bad_signature',
    });
  });

  it('refuses stale frames, wrong kinds, non-JSON bodies and invalid batches with 400', async () => {
    const pipeline = createIngestionPipeline(steps());
    const batch = makeBatch(makeEvents(clock, 1));
    await expect(
      runIngestion(pipeline, {
        device,
        rawBody: await seal(batch, { timestampMs: clock.now() - 120_000 }),
      }),
    ).rejects.toMatchObject({
      code: 'invalid_sealed_message',
      status: 400,
      details: { reason: 'timestamp_out_of_range', maxSkewMs: 60_000 },
    });
    await expect(
      runIngestion(pipeline, { device, rawBody: await seal(batch, { kind: 2 }) }),
    ).rejects.toMatchObject({ code: 'invalid_sealed_message', details: { reason: 'wrong_kind' } });
    await expect(
      runIngestion(pipeline, { device, rawBody: new TextEncoder().encode('{"sealed":"!!"}') }),
    ).rejects.toMatchObject({ code: 'invalid_sealed_message', status: 400 });
    await expect(
      runIngestion(pipeline, { device, rawBody: new TextEncoder().encode('nope') }),
    ).rejects.toMatchObject({ code: 'invalid_json', status: 400 });
    await expect(
      runIngestion(pipeline, { device, rawBody: await seal({ ...batch, events: [] }) }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      status: 400,
      details: { issues: [{ path: 'events' }] },
    });
  });

  it('refuses an oversized body with 413 and stores nothing', async () => {
    const pipeline = createIngestionPipeline(steps({ maxBodyBytes: 2048 }));
    const rawBody = await seal(makeBatch(makeEvents(clock, 50)));
    expect(rawBody.byteLength).toBeGreaterThan(2048);
    await expect(runIngestion(pipeline, { device, rawBody })).rejects.toMatchObject({
      code: 'payload_too_large',
      status: 413,
    });
    expect(await storedIds()).toEqual([]);
  });

  it('rate-limits each device with 429 and retry-after', async () => {
    const pipeline = createIngestionPipeline(
      steps({ rateLimit: { capacity: 2, refillPerSecond: 0.5 } }),
    );
    const other = await createTestDevice(current().db);
    const send = async (who: TestDevice) =>
      runIngestion(pipeline, {
        device: who,
        rawBody: await sealedBody(who, server, clock, makeBatch(makeEvents(clock, 1))),
      });
    await send(device);
    await send(device);
    const refused = await send(device).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'rate_limited',
      status: 429,
      headers: { 'retry-after': '2' },
    });
    await expect(send(other)).resolves.toMatchObject({ accepted: 1 });
    clock.advance(2000);
    await expect(send(device)).resolves.toMatchObject({ accepted: 1 });
  });

  it('sheds load with 503 when every slot is busy', async () => {
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const slow = ingestionStep('slow', async () => {
      entered();
      await blocked;
    });
    const pipeline = createIngestionPipeline(
      insertStepAfter(steps({ loadShedding: { maxInFlight: 1 } }), 'load-shedding', slow),
    );
    const first = runIngestion(pipeline, {
      device,
      rawBody: await seal(makeBatch(makeEvents(clock, 1))),
    });
    await inside;
    const refused = await runIngestion(pipeline, {
      device,
      rawBody: await seal(makeBatch(makeEvents(clock, 1))),
    }).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'overloaded',
      status: 503,
      headers: { 'retry-after': '1' },
    });
    unblock();
    await expect(first).resolves.toMatchObject({ accepted: 1 });
  });

  it('adds the batch drops into devices.drops', async () => {
    const pipeline = createIngestionPipeline(steps());
    // core's dropCountsSchema is a zod 4 record over an enum, which needs every reason present.
    const zero = {
      no_consent: 0,
      invalid: 0,
      overflow: 0,
      spool_trimmed: 0,
      rejected_by_server: 0,
    };
    await runIngestion(pipeline, {
      device,
      rawBody: await seal(
        makeBatch(makeEvents(clock, 1), { drops: { ...zero, overflow: 3, no_consent: 1 } }),
      ),
    });
    const resent = makeBatch(makeEvents(clock, 1), { drops: { ...zero, overflow: 2, invalid: 4 } });
    await runIngestion(pipeline, { device, rawBody: await seal(resent) });
    // The same batch again (all duplicates): its drops are not counted twice.
    await runIngestion(pipeline, { device, rawBody: await seal(resent) });
    const row = await current()
      .db.selectFrom('devices')
      .select('drops')
      .where('id', '=', device.id)
      .executeTakeFirstOrThrow();
    expect(row.drops).toEqual({ ...zero, overflow: 5, no_consent: 1, invalid: 4 });
  });

  it('runs a custom step inserted into the list', async () => {
    const geo = ingestionStep('geo', (ctx) => {
      for (const entry of pendingEntries(ctx)) {
        if (entry.enriched !== undefined) entry.enriched.data.country = 'FR';
      }
    });
    const pipeline = createIngestionPipeline(insertStepAfter(steps(), 'enrich-events', geo));
    expect(pipeline.steps.map((s) => s.name)).toEqual([
      'size-limit',
      'rate-limit',
      'load-shedding',
      'open-batch',
      'parse-batch',
      'validate-events',
      'check-consent',
      'dedup-batch',
      'enrich-events',
      'geo',
      'count-consent-refusals',
      'dead-letter',
      'store-events',
      'build-results',
    ]);
    const [event] = makeEvents(clock, 1);
    await runIngestion(pipeline, { device, rawBody: await seal(makeBatch([event])) });
    const row = await current()
      .db.selectFrom('events')
      .select('data')
      .where('id', '=', event!.id)
      .executeTakeFirstOrThrow();
    expect(row.data).toEqual({ idleForMs: 1000, country: 'FR' });
  });

  it('reports a summary per request to onResult', async () => {
    const summaries: IngestionSummary[] = [];
    const pipeline = createIngestionPipeline(steps({ onResult: (s) => summaries.push(s) }));
    const [valid] = makeEvents(clock, 1);
    const [network] = makeEvents(clock, 1, 'activity.network.volume');
    await runIngestion(pipeline, {
      device,
      rawBody: await seal(makeBatch([valid, network, valid])),
    });
    await runIngestion(pipeline, { device, rawBody: new Uint8Array(2_000_000) }).catch(() => {});
    expect(summaries).toEqual([
      expect.objectContaining({
        outcome: 'ok',
        events: 3,
        accepted: 1,
        duplicates: 1,
        rejected: 1,
        rejectedByCode: { consent_required: 1 },
        durationMs: expect.any(Number),
      }),
      expect.objectContaining({ outcome: 'payload_too_large', events: 0 }),
    ]);
  });

  describe('when storage fails', () => {
    it('writes the accepted events to dead_letters and answers 503', async () => {
      const { db } = current();
      const pipeline = createIngestionPipeline(steps());
      const events = makeEvents(clock, 3);
      const [network] = makeEvents(clock, 1, 'activity.network.volume');
      const batch = makeBatch([...events, network]);
      await sql`alter table events rename to events_away`.execute(db);
      let refused: unknown;
      try {
        refused = await runIngestion(pipeline, { device, rawBody: await seal(batch) }).catch(
          (error: unknown) => error,
        );
      } finally {
        await sql`alter table events_away rename to events`.execute(db);
      }
      expect(refused).toMatchObject({
        code: 'unavailable',
        status: 503,
        headers: { 'retry-after': '5' },
      });
      const letters = await db
        .selectFrom('dead_letters')
        .selectAll()
        .where('device_id', '=', device.id)
        .execute();
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        kind: 'events',
        tenant_id: 'acme',
        reason: expect.stringContaining('events'),
      });
      const payload = letters[0]!.payload as { batchId: string; events: Array<{ id: string }> };
      expect(payload.batchId).toBe(batch.batchId);
      expect(payload.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(await storedIds()).toEqual([]);
      const outbox = await db
        .selectFrom('outbox')
        .select('seq')
        .where(sql<boolean>`payload->>'deviceId' = ${device.id}`)
        .execute();
      expect(outbox).toEqual([]);

      // The device retries (new seal) once the database is back: stored once.
      const retried = await runIngestion(pipeline, { device, rawBody: await seal(batch) });
      expect(retried).toMatchObject({ accepted: 3, rejected: 1 });
    });

    it('rethrows the store error when the dead letter cannot be written either', async () => {
      const { db } = current();
      const failure = new Error('disk on fire');
      const failingStore = ingestionStep('store-events', () => {
        throw failure;
      });
      const pipeline = createIngestionPipeline(replaceStep(steps(), 'store-events', failingStore));
      await sql`alter table dead_letters rename to dead_letters_away`.execute(db);
      let thrown: unknown;
      try {
        thrown = await runIngestion(pipeline, {
          device,
          rawBody: await seal(makeBatch(makeEvents(clock, 1))),
        }).catch((error: unknown) => error);
      } finally {
        await sql`alter table dead_letters_away rename to dead_letters`.execute(db);
      }
      expect(thrown).toBe(failure);
    });

    it('does not dead-letter HttpErrors thrown by custom steps', async () => {
      const { HttpError } = await import('../../src/http/http-error.js');
      const veto = ingestionStep('veto', () => {
        throw new HttpError('forbidden', 'No.');
      });
      const pipeline = createIngestionPipeline(insertStepBefore(steps(), 'store-events', veto));
      await expect(
        runIngestion(pipeline, { device, rawBody: await seal(makeBatch(makeEvents(clock, 1))) }),
      ).rejects.toMatchObject({ code: 'forbidden' });
      const letters = await current()
        .db.selectFrom('dead_letters')
        .select('seq')
        .where('device_id', '=', device.id)
        .execute();
      expect(letters).toEqual([]);
    });
  });

  it('refuses unstorable text per event instead of failing the batch', async () => {
    const pipeline = createIngestionPipeline(steps());
    const [a, b, c] = makeEvents(clock, 3);
    const withNul = { ...b!, type: 'activity.app.launched', data: { app: 'calc\u0000' } };
    const loneSurrogate = { ...c!, type: 'activity.app.launched', data: { app: 'calc\ud800' } };
    const result = await runIngestion(pipeline, {
      device,
      rawBody: await seal(makeBatch([a, withNul, loneSurrogate])),
    });
    expect(result.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'rejected']);
    expect(await storedIds()).toEqual([a!.id]);
  });
});
