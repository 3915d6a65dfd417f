// Property-based bad input on the sealed device routes (`POST /v1/events`,
// `POST /v1/reports`) and `GET /v1/config`, sent with real device tokens and
// real frames: only a genuinely valid frame is answered 200, everything else
// is a documented 4xx, nothing is stored from a rejected request, and the
// server stays healthy.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  createEventRegistry,
  encodeBase64Url,
  eventBatchSchema,
  eventsResponseSchema,
  generateIdentity,
  jobReportSchema,
  publicKeysOf,
  reportResponseSchema,
  SealKind,
} from '@fieldline/core';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/test-databases.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import {
  countRows,
  enrollDevice,
  errorCode,
  expectDocumentedError,
  expectHealthy,
  type FuzzDevice,
  grantConsent,
  publishPolicy,
  type RawAnswer,
  type RowCounts,
  sealedBodyText,
  sealFrame,
  send,
  uuidv7,
} from './fuzz-fixture.js';

const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/json' };
const TEN_MINUTES = 10 * 60 * 1000;
const registry = createEventRegistry();

// The two sealed routes, with the frame kind each expects and the schema of its plaintext.
const SEALED_ROUTES = [
  { path: '/v1/events', kind: SealKind.EventBatch, schema: eventBatchSchema },
  { path: '/v1/reports', kind: SealKind.JobReport, schema: jobReportSchema },
] as const;
type SealedRoute = (typeof SEALED_ROUTES)[number];

function validBatch(events: unknown[] = [heartbeat()]) {
  return { batchId: randomUUID(), sentAt: new Date().toISOString(), events };
}

function heartbeat() {
  return {
    id: uuidv7(),
    type: 'device.heartbeat',
    occurredAt: new Date().toISOString(),
    seq: 1,
    scope: 'operational',
    data: {},
  };
}

function validReport() {
  const now = Date.now();
  return {
    id: randomUUID(),
    job: 'backup',
    startedAt: new Date(now - 1000).toISOString(),
    finishedAt: new Date(now).toISOString(),
    status: 'succeeded',
    durationMs: 1000,
    metrics: { bytes: 1 },
  };
}

function validPayload(route: SealedRoute): unknown {
  return route.kind === SealKind.EventBatch ? validBatch() : validReport();
}

// ---------------------------------------------------------------------------------------------
// Broken bodies and frames: each variant is built against a fresh valid frame at run time.

interface Broken {
  readonly body: string | Uint8Array;
  readonly headers: Record<string, string>;
  /** The codes this variant may be answered with. */
  readonly codes: readonly string[];
}

interface BreakContext {
  readonly route: SealedRoute;
  readonly device: FuzzDevice;
  readonly other: FuzzDevice;
  readonly otherServerKey: string;
}

type Breaker = (context: BreakContext) => Promise<Broken>;

const SEAL_REFUSALS = ['invalid_sealed_message', 'bad_signature'];

const breakers: fc.Arbitrary<Breaker> = fc.oneof(
  // Random JSON, not a sealed body.
  fc.jsonValue().map(
    (value): Breaker =>
      async () => ({
        body: JSON.stringify(value) ?? 'null',
        headers: JSON_HEADERS,
        codes: ['invalid_sealed_message'],
      }),
  ),
  // Not JSON at all, or not UTF-8.
  fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 64 })).map(
    (raw): Breaker =>
      async () => ({
        body: typeof raw === 'string' ? `{${raw}` : Uint8Array.from([0xff, ...raw]),
        headers: JSON_HEADERS,
        codes: ['invalid_json'],
      }),
  ),
  // { sealed: <random string> }, plus extra members next to a real frame.
  fc.string({ unit: 'binary', maxLength: 300 }).map(
    (sealed): Breaker =>
      async () => ({
        body: JSON.stringify({ sealed }),
        headers: JSON_HEADERS,
        codes: SEAL_REFUSALS,
      }),
  ),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue(), { minKeys: 1 }).map(
    (extra): Breaker =>
      async ({ route, device }) => {
        const sealed = encodeBase64Url(await sealFrame(device, route.kind, validPayload(route)));
        const members = { ...extra, sealed };
        const onlySealed = Object.keys(members).length === 1;
        return {
          body: JSON.stringify(onlySealed ? { ...members, zz: 1 } : members),
          headers: JSON_HEADERS,
          codes: ['invalid_sealed_message'],
        };
      },
  ),
  // A valid frame with 1–3 bytes flipped anywhere.
  fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 })
    .map(
      (flips): Breaker =>
        async ({ route, device }) => {
          const frame = await sealFrame(device, route.kind, validPayload(route));
          for (const [at, mask] of flips) {
            const index = at % frame.length;
            frame[index] = (frame[index] ?? 0) ^ mask;
          }
          return { body: sealedBodyText(frame), headers: JSON_HEADERS, codes: SEAL_REFUSALS };
        },
    ),
  // A valid frame's base64url text with 1–3 characters changed.
  fc
    .array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. '),
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map(
      (edits): Breaker =>
        async ({ route, device }) => {
          const original = encodeBase64Url(
            await sealFrame(device, route.kind, validPayload(route)),
          );
          const chars = [...original];
          for (const [at, char] of edits) chars[at % chars.length] = char;
          const sealed = chars.join('');
          // Re-typing a character as itself leaves the frame valid: make sure something changed.
          const changed = sealed === original ? `${sealed}A` : sealed;
          return {
            body: JSON.stringify({ sealed: changed }),
            headers: JSON_HEADERS,
            codes: SEAL_REFUSALS,
          };
        },
    ),
  // Truncated, or with trailing bytes.
  fc.oneof(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(
    (cut): Breaker =>
      async ({ route, device }) => {
        const frame = await sealFrame(device, route.kind, validPayload(route));
        const bytes =
          typeof cut === 'number'
            ? frame.slice(0, cut % frame.length)
            : Uint8Array.from([...frame, ...cut]);
        const body = bytes.length === 0 ? JSON.stringify({ sealed: '' }) : sealedBodyText(bytes);
        return { body, headers: JSON_HEADERS, codes: ['invalid_sealed_message'] };
      },
  ),
  // Signed with another device's key under this device's id; another device's own frame;
  // sealed to another server's key.
  fc.constantFrom('foreign-signer', 'foreign-sender', 'foreign-recipient').map(
    (how): Breaker =>
      async ({ route, device, other, otherServerKey }) => {
        const payload = validPayload(route);
        const frame =
          how === 'foreign-signer'
            ? await sealFrame(device, route.kind, payload, { signer: other.identity })
            : how === 'foreign-sender'
              ? await sealFrame(other, route.kind, payload)
              : await sealFrame(device, route.kind, payload, { recipientKey: otherServerKey });
        return { body: sealedBodyText(frame), headers: JSON_HEADERS, codes: ['bad_signature'] };
      },
  ),
  // Another kind than the route's, or a stale or future timestamp.
  fc.integer({ min: 1, max: 255 }).map(
    (kind): Breaker =>
      async ({ route, device }) => {
        const wrong = kind === route.kind ? kind + 1 : kind;
        const frame = await sealFrame(device, wrong, validPayload(route));
        return {
          body: sealedBodyText(frame),
          headers: JSON_HEADERS,
          codes: ['invalid_sealed_message'],
        };
      },
  ),
  fc.constantFrom(-TEN_MINUTES, -2 * 60_000, 2 * 60_000, TEN_MINUTES).map(
    (skew): Breaker =>
      async ({ route, device }) => {
        const frame = await sealFrame(device, route.kind, validPayload(route), {
          timestampMs: Date.now() + skew,
        });
        return {
          body: sealedBodyText(frame),
          headers: JSON_HEADERS,
          codes: ['invalid_sealed_message'],
        };
      },
  ),
  // A properly sealed frame whose payload is random JSON (never a valid batch or report).
  fc
    .oneof(
      fc.jsonValue(),
      fc.record({ batchId: fc.string(), sentAt: fc.string(), events: fc.array(fc.jsonValue()) }),
      fc.record({ id: fc.string(), job: fc.jsonValue(), metrics: fc.jsonValue() }),
    )
    .map(
      (payload): Breaker =>
        async ({ route, device }) => {
          expect(route.schema.safeParse(payload).success).toBe(false);
          const frame = await sealFrame(device, route.kind, payload);
          return {
            body: sealedBodyText(frame),
            headers: JSON_HEADERS,
            codes: ['invalid_request'],
          };
        },
    ),
  // Bad gzip, and encodings the server does not speak.
  fc.uint8Array({ maxLength: 64 }).map(
    (bytes): Breaker =>
      async () => ({
        body: Uint8Array.from([0x1f, 0x8b, ...bytes]),
        headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' },
        codes: ['invalid_json'],
      }),
  ),
  fc.integer({ min: 1, max: 200 }).map(
    (cut): Breaker =>
      async ({ route, device }) => {
        const gz = gzipSync(
          sealedBodyText(await sealFrame(device, route.kind, validPayload(route))),
        );
        return {
          body: gz.subarray(0, Math.min(cut, gz.length - 9)),
          headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' },
          codes: ['invalid_json'],
        };
      },
  ),
  fc.constantFrom('br', 'deflate', 'compress', 'gzip, gzip', 'x-gzip').map(
    (encoding): Breaker =>
      async ({ route, device }) => ({
        body: sealedBodyText(await sealFrame(device, route.kind, validPayload(route))),
        headers: { ...JSON_HEADERS, 'content-encoding': encoding },
        codes: ['unsupported_media_type'],
      }),
  ),
);

// ---------------------------------------------------------------------------------------------
// Random event arrays inside properly sealed batches.

const EVENT_TYPES = registry.list().map((type) => ({ type: type.type, scope: type.scope }));
const anyText = fc.string({ unit: 'binary', maxLength: 24 });
const nearLimitText = (limit: number) =>
  fc.constantFrom(limit - 1, limit, limit + 1).map((length) => 'x'.repeat(length));
const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  anyText,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.object({ maxDepth: 1, maxKeys: 3 }),
);
const timestampText = fc.oneof(
  fc
    .integer({ min: -400 * 24 * 3600 * 1000, max: 30_000 })
    .map((offset) => new Date(Date.now() + offset).toISOString()),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom(
    '0000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999+14:00',
    '2026-02-30T10:00:00Z',
    '2026-11-21T10:00:00',
  ),
  anyText,
);
const dataField = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }) },
  { weight: 2, arbitrary: nearLimitText(256) },
  { weight: 1, arbitrary: nearLimitText(4096) },
  { weight: 3, arbitrary: fc.integer({ min: -1, max: 2 ** 31 }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53, -0, 0.5) },
  { weight: 2, arbitrary: wrongType },
);
const eventData = fc.oneof(
  fc.dictionary(
    fc.constantFrom(
      'app',
      'pid',
      'executablePath',
      'runDurationMs',
      'previousApp',
      'idleForMs',
      'idleThresholdMs',
      'intervalMs',
      'bytesIn',
      'bytesOut',
      'uptimeMs',
      'agentVersion',
      'title',
    ),
    dataField,
    { maxKeys: 4 },
  ),
  fc.record({ app: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }) }),
  fc.constant({}),
  wrongType,
);
const eventish = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        id: fc.oneof(
          { weight: 8, arbitrary: fc.uuid({ version: 7 }) },
          { weight: 1, arbitrary: fc.uuid({ version: 4 }) },
          { weight: 1, arbitrary: anyText },
        ),
        typeAndScope: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...EVENT_TYPES) },
          {
            weight: 1,
            arbitrary: fc.record({
              type: fc.oneof(anyText, fc.constantFrom('custom.thing', 'Activity.App')),
              scope: fc.oneof(anyText, fc.constantFrom('activity', 'network')),
            }),
          },
        ),
        occurredAt: fc.oneof({ weight: 5, arbitrary: fc.constant('now') }, timestampText),
        seq: fc.oneof(
          fc.nat(),
          fc.constantFrom(-1, Number.MAX_SAFE_INTEGER, 2 ** 53, 1.5),
          wrongType,
        ),
        data: eventData,
        extra: fc.option(fc.jsonValue(), { freq: 6 }),
      },
      { requiredKeys: ['id', 'typeAndScope', 'occurredAt', 'seq', 'data'] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue() },
);

function materialize(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || !('typeAndScope' in input)) return input;
  const { typeAndScope, occurredAt, extra, ...rest } = input as {
    typeAndScope: { type: string; scope: string };
    occurredAt: string;
    extra?: unknown;
  };
  return {
    ...rest,
    ...typeAndScope,
    occurredAt: occurredAt === 'now' ? new Date().toISOString() : occurredAt,
    ...(extra === undefined || extra === null ? {} : { extra }),
  };
}

const batchish = fc.record({
  events: fc.oneof(
    { weight: 8, arbitrary: fc.array(eventish, { minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constant([]) },
  ),
  batchId: fc.oneof({ weight: 8, arbitrary: fc.uuid() }, { weight: 1, arbitrary: anyText }),
  sentAt: fc.oneof({ weight: 8, arbitrary: fc.constant('now') }, timestampText),
  drops: fc.option(
    fc.dictionary(
      fc.constantFrom('no_consent', 'invalid', 'overflow', 'spool_trimmed', 'other'),
      fc.oneof(fc.nat(), fc.constantFrom(-1, 0.5, Number.MAX_SAFE_INTEGER), wrongType),
    ),
    { freq: 3 },
  ),
});

// ---------------------------------------------------------------------------------------------
// Random job reports inside properly sealed frames. Strings avoid U+0000 and lone surrogates so
// that most reports stay storable; those inputs have their own tests in regressions.test.ts.

const storableText = (maxLength: number) =>
  fc.string({ unit: 'grapheme', maxLength }).filter((text) => !text.includes('\u0000'));
const reportTimestamp = fc.oneof(
  { weight: 6, arbitrary: fc.constant('now') },
  {
    weight: 2,
    arbitrary: fc
      .date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      })
      .map((date) => date.toISOString()),
  },
  { weight: 1, arbitrary: fc.constantFrom('2026-11-21T10:00:00', 'yesterday', '') },
  { weight: 1, arbitrary: wrongType },
);
const reportish = fc.record({
  id: fc.oneof({ weight: 8, arbitrary: fc.uuid() }, { weight: 1, arbitrary: anyText }),
  job: fc.oneof(
    { weight: 6, arbitrary: storableText(20) },
    { weight: 2, arbitrary: nearLimitText(128) },
    { weight: 1, arbitrary: wrongType },
  ),
  startedAt: reportTimestamp,
  finishedAt: reportTimestamp,
  status: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('succeeded', 'failed', 'cancelled') },
    { weight: 1, arbitrary: anyText },
  ),
  durationMs: fc.oneof(
    fc.nat(),
    fc.constantFrom(-1, 1.5, Number.MAX_SAFE_INTEGER, 2 ** 53),
    wrongType,
  ),
  metrics: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.dictionary(
        fc.oneof(storableText(10), nearLimitText(128)),
        fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
        { maxKeys: 4 },
      ),
    },
    { weight: 1, arbitrary: fc.dictionary(storableText(5), wrongType, { minKeys: 1 }) },
    { weight: 1, arbitrary: wrongType },
  ),
  error: fc.oneof(
    fc.record(
      {
        message: fc.oneof(storableText(40), nearLimitText(4096)),
        code: fc.oneof(storableText(10), nearLimitText(128)),
      },
      { requiredKeys: ['message'] },
    ),
    wrongType,
  ),
  extra: fc.jsonValue(),
});

function materializeReport(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    out[key] = value === 'now' ? new Date().toISOString() : value;
  }
  return out;
}

// Mostly a valid report with zero to two fields replaced, sometimes every field random, so
// that both valid and invalid reports are common.
const REPORT_KEYS = [
  'id',
  'job',
  'startedAt',
  'finishedAt',
  'status',
  'durationMs',
  'metrics',
  'error',
  'extra',
] as const;
const reportPayload = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(reportish, fc.subarray([...REPORT_KEYS], { maxLength: 2 }))
      .map(([fields, keys]) => {
        const picked = Object.fromEntries(keys.map((key) => [key, fields[key]]));
        return { ...validReport(), ...materializeReport(picked) };
      }),
  },
  { weight: 1, arbitrary: reportish.map(materializeReport) },
);

// ---------------------------------------------------------------------------------------------

describeEachDatabase('sealed device routes refuse bad input', (current) => {
  let server: TestServer;
  let pool: FuzzDevice[];
  let revokedToken: FuzzDevice;
  let revokedDevice: FuzzDevice;
  let otherServerKey: string;
  let turn = 0;

  // Devices take turns so each stays under its rate limit.
  function nextDevice(): { device: FuzzDevice; other: FuzzDevice } {
    turn += 1;
    const device = pool[turn % pool.length] as FuzzDevice;
    const other = pool[(turn + 1) % pool.length] as FuzzDevice;
    return { device, other };
  }

  function post(
    path: string,
    device: FuzzDevice,
    body: string | Uint8Array,
    headers = JSON_HEADERS,
  ) {
    return send(`${server.url}${path}`, { token: device.deviceToken, body, headers });
  }

  async function expectNothingStoredBy(run: () => Promise<void>): Promise<void> {
    const before = await countRows(current().db);
    await run();
    expect(await countRows(current().db)).toEqual(before);
    await expectHealthy(server);
  }

  beforeAll(async () => {
    server = await startTestServer(current().db);
    await publishPolicy(server, 'acme', 1, ['activity', 'network']);
    pool = [];
    for (let i = 0; i < 4; i += 1) {
      const device = await enrollDevice(server, 'acme');
      await grantConsent(server, device.deviceId, ['activity']);
      pool.push(device);
    }
    revokedToken = await enrollDevice(server, 'acme');
    revokedDevice = await enrollDevice(server, 'acme');
    // No route revokes yet: flip the rows the way an operator's tooling would.
    await current()
      .db.updateTable('device_tokens')
      .set({ revoked_at: new Date() })
      .where('device_id', '=', revokedToken.deviceId)
      .execute();
    await current()
      .db.updateTable('devices')
      .set({ status: 'revoked' })
      .where('id', '=', revokedDevice.deviceId)
      .execute();
    otherServerKey = publicKeysOf(await generateIdentity()).encryptionPublicKey;
  }, 30_000);
  afterAll(async () => {
    await server.close();
  });

  it('answers malformed, tampered, truncated, foreign, stale, wrong-kind, mis-encoded frames with documented 4xx and stores nothing', async () => {
    await expectNothingStoredBy(async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...SEALED_ROUTES), breakers, async (route, breaker) => {
          const { device, other } = nextDevice();
          const broken = await breaker({ route, device, other, otherServerKey });
          const answer = await post(route.path, device, broken.body, broken.headers);
          expectDocumentedError(answer, broken.codes);
        }),
        { numRuns: 160 },
      );
    });
  });

  it('answers 200 to sealed batches of random events, with a documented result per event', async () => {
    const db = current().db;
    let acceptedSomewhere = 0;
    await fc.assert(
      fc.asyncProperty(batchish, async (generated) => {
        const { device } = nextDevice();
        const events = (generated.events as unknown[]).map(materialize);
        const payload = {
          batchId: generated.batchId,
          sentAt: generated.sentAt === 'now' ? new Date().toISOString() : generated.sentAt,
          events,
          ...(generated.drops === null ? {} : { drops: generated.drops }),
        };
        const before = await countRows(db);
        const frame = await sealFrame(device, SealKind.EventBatch, payload);
        const answer = await post('/v1/events', device, sealedBodyText(frame));
        const after = await countRows(db);
        if (!eventBatchSchema.safeParse(payload).success) {
          expectDocumentedError(answer, ['invalid_request']);
          expect(after).toEqual(before);
          return;
        }
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(eventsResponseSchema.safeParse(answer.body).success).toBe(true);
        const { results } = answer.body as {
          results: Array<{ id: string; status: string; code?: string }>;
        };
        expect(results).toHaveLength(events.length);
        const tally = { accepted: 0, duplicate: 0, rejected: 0 } as Record<string, number>;
        results.forEach((result, index) => {
          tally[result.status] = (tally[result.status] ?? 0) + 1;
          if (result.status === 'rejected') {
            expect(['invalid_event', 'unknown_event_type', 'consent_required']).toContain(
              result.code,
            );
          }
          // The registry is the oracle for what is invalid; the server may refuse more
          // (consent, unstorable text) but never accept what the registry refuses.
          if (!registry.validate(events[index]).ok) expect(result.status).toBe('rejected');
        });
        expect(answer.body.accepted).toBe(tally.accepted);
        expect(answer.body.duplicates).toBe(tally.duplicate);
        expect(answer.body.rejected).toBe(tally.rejected);
        expect(after.events - before.events).toBe(tally.accepted);
        acceptedSomewhere += tally.accepted ?? 0;
        expect(after.reports).toBe(before.reports);
        expect(after.dead_letters).toBe(0);
      }),
      { numRuns: 100 },
    );
    // Random batches only sometimes hold a storable, consented event; make sure the store
    // path ran at least once, whatever the seed, with a batch known to be valid.
    if (acceptedSomewhere === 0) {
      const { device } = nextDevice();
      const frame = await sealFrame(device, SealKind.EventBatch, validBatch());
      const answer = await post('/v1/events', device, sealedBodyText(frame));
      expect(answer.status).toBe(200);
      expect((answer.body as { accepted: number }).accepted).toBe(1);
    }
    await expectHealthy(server);
  });

  it('answers sealed random job reports 200 exactly when they are valid, storing only those', async () => {
    const db = current().db;
    const seen = { valid: 0, invalid: 0 };
    await fc.assert(
      fc.asyncProperty(reportPayload, async (payload) => {
        const { device } = nextDevice();
        const before = await countRows(db);
        const frame = await sealFrame(device, SealKind.JobReport, payload);
        const answer = await post('/v1/reports', device, sealedBodyText(frame));
        const after = await countRows(db);
        // The model judges what travels: JSON drops `undefined` members, so `{ "": undefined }`
        // arrives as `{}`.
        if (jobReportSchema.safeParse(JSON.parse(JSON.stringify(payload))).success) {
          seen.valid += 1;
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          expect(reportResponseSchema.safeParse(answer.body).success).toBe(true);
          const stored = answer.body.status === 'accepted' ? 1 : 0;
          expect(after.reports - before.reports).toBe(stored);
        } else {
          seen.invalid += 1;
          expectDocumentedError(answer, ['invalid_request']);
          expect(after).toEqual(before);
        }
      }),
      { numRuns: 120 },
    );
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.invalid).toBeGreaterThan(0);
    await expectHealthy(server);
  });

  it('refuses replayed frames with 409 replayed, however they are re-sent', async () => {
    const db = current().db;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SEALED_ROUTES),
        fc.array(fc.constantFrom('same', 'gzip', 'spaced', 'other-route'), {
          minLength: 1,
          maxLength: 3,
        }),
        async (route, resends) => {
          const { device } = nextDevice();
          const payload =
            route.kind === SealKind.EventBatch
              ? validBatch([
                  { ...heartbeat(), data: {} },
                  {
                    id: uuidv7(),
                    type: 'activity.app.launched',
                    occurredAt: new Date().toISOString(),
                    seq: 2,
                    scope: 'activity',
                    data: { app: 'calc' },
                  },
                ])
              : validReport();
          const text = sealedBodyText(await sealFrame(device, route.kind, payload));
          const first = await post(route.path, device, text);
          expect(first.status, JSON.stringify(first.body)).toBe(200);
          const before = await countRows(db);
          for (const how of resends) {
            let answer: RawAnswer;
            if (how === 'gzip') {
              answer = await post(route.path, device, gzipSync(text), {
                ...JSON_HEADERS,
                'content-encoding': 'gzip',
              });
            } else if (how === 'spaced') {
              answer = await post(route.path, device, ` ${text.replace(':', ' : ')}\n`);
            } else if (how === 'other-route') {
              const otherPath = route.path === '/v1/events' ? '/v1/reports' : '/v1/events';
              answer = await post(otherPath, device, text);
            } else {
              answer = await post(route.path, device, text);
            }
            expectDocumentedError(answer, ['replayed']);
          }
          expect(await countRows(db)).toEqual(before);
        },
      ),
      { numRuns: 25 },
    );
    await expectHealthy(server);
  });

  it('refuses random, unknown, revoked and revoked-device tokens on every device route', async () => {
    const frameFor = async (path: string, device: FuzzDevice) =>
      sealedBodyText(
        await sealFrame(
          device,
          path === '/v1/events' ? SealKind.EventBatch : SealKind.JobReport,
          path === '/v1/events' ? validBatch() : validReport(),
        ),
      );
    await expectNothingStoredBy(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/v1/config', '/v1/events', '/v1/reports'),
          fc.oneof(
            fc.constantFrom('revoked-token', 'revoked-device', 'flipped', 'admin', 'none'),
            fc.string({ maxLength: 80 }),
            fc.stringMatching(/^fl_dev_[A-Za-z0-9_-]{10,60}$/),
          ),
          async (path, credential) => {
            const device = pool[0] as FuzzDevice;
            let authorization: string | undefined;
            let codes = ['invalid_token', 'unauthenticated'];
            let sender = device;
            if (credential === 'revoked-token') {
              authorization = `Bearer ${revokedToken.deviceToken}`;
              sender = revokedToken;
              codes = ['invalid_token'];
            } else if (credential === 'revoked-device') {
              authorization = `Bearer ${revokedDevice.deviceToken}`;
              sender = revokedDevice;
              codes = ['device_revoked'];
            } else if (credential === 'flipped') {
              const token = device.deviceToken;
              const last = token.at(-1) === 'A' ? 'B' : 'A';
              authorization = `Bearer ${token.slice(0, -1)}${last}`;
              codes = ['invalid_token'];
            } else if (credential === 'admin') {
              authorization = 'Bearer fl_admin_operator_token_for_tests_0123456789';
              codes = ['invalid_token'];
            } else if (credential !== 'none') {
              authorization = /^[\t\x20-\x7e]*$/.test(credential)
                ? credential.startsWith('fl_dev_')
                  ? `Bearer ${credential}`
                  : credential
                : undefined;
            }
            const headers: Record<string, string> = { ...JSON_HEADERS };
            if (authorization !== undefined) headers.authorization = authorization;
            const answer =
              path === '/v1/config'
                ? await send(`${server.url}${path}`, { headers })
                : await send(`${server.url}${path}`, {
                    headers,
                    body: await frameFor(path, sender),
                  });
            expectDocumentedError(answer, codes);
            expect(answer.status).toBe(401);
          },
        ),
        { numRuns: 80 },
      );
    });
    const config = await send(`${server.url}/v1/config`, { token: pool[0]?.deviceToken });
    expect(config.status).toBe(200);
  });

  it('answers valid frames under any content type with 200 or 415, never storing from a refusal', async () => {
    // The sealed routes read { "sealed": … } whatever the content type says (the admin routes
    // answer 415): reported as a finding; this property holds either way.
    const db = current().db;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SEALED_ROUTES),
        fc.oneof(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/octet-stream',
            'application/jsonx',
            '',
          ),
          fc.stringMatching(/^[a-z]{1,10}\/[a-z+.-]{1,15}$/),
        ),
        async (route, contentType) => {
          const { device } = nextDevice();
          const frame = await sealFrame(device, route.kind, validPayload(route));
          const headers: Record<string, string> =
            contentType === '' ? {} : { 'content-type': contentType };
          const before = await countRows(db);
          const answer = await send(`${server.url}${route.path}`, {
            token: device.deviceToken,
            body: sealedBodyText(frame),
            headers,
          });
          if (answer.status === 200) return;
          expectDocumentedError(answer, ['unsupported_media_type']);
          expect(await countRows(db)).toEqual(before);
        },
      ),
      { numRuns: 30 },
    );
    await expectHealthy(server);
  });

  it('refuses 10,001 events, oversized bodies and gzip bombs, storing nothing', async () => {
    const device = pool[1] as FuzzDevice;
    await expectNothingStoredBy(async () => {
      // Tiny (invalid) events keep the batch far under the body limit: the count alone is refused.
      const tooMany = validBatch(Array.from({ length: 10_001 }, (_, seq) => seq));
      const many = await post(
        '/v1/events',
        device,
        sealedBodyText(await sealFrame(device, SealKind.EventBatch, tooMany)),
      );
      expectDocumentedError(many, ['invalid_request']);
      // Just over the events route's 1 MiB body limit.
      const big = validBatch([{ ...heartbeat(), data: { agentVersion: 'v'.repeat(800_000) } }]);
      const bigAnswer = await post(
        '/v1/events',
        device,
        sealedBodyText(await sealFrame(device, SealKind.EventBatch, big)),
      );
      expectDocumentedError(bigAnswer, ['payload_too_large']);
      // Over the adapter's 2 MiB wire limit, on both routes.
      for (const path of ['/v1/events', '/v1/reports']) {
        const huge = JSON.stringify({ sealed: 'A'.repeat(2 * 1024 * 1024 + 10) });
        expectDocumentedError(await post(path, device, huge), ['payload_too_large']);
        const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20));
        expectDocumentedError(
          await post(path, device, bomb, { ...JSON_HEADERS, 'content-encoding': 'gzip' }),
          ['payload_too_large'],
        );
      }
      // A long but well-formed report body that is no frame.
      const long = JSON.stringify({ sealed: 'A'.repeat(1_500_000) });
      expectDocumentedError(await post('/v1/reports', device, long), ['invalid_sealed_message']);
    });
  });

  it('stored nothing it refused, collected no server error and is still ready', async () => {
    const rows: RowCounts = await countRows(current().db);
    expect(rows.dead_letters).toBe(0);
    await expectHealthy(server);
    expect(errorCode(await send(`${server.url}/readyz`))).toBeUndefined();
  });
});
