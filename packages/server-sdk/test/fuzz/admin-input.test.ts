// Property-based bad input on the admin routes: random bodies, ids, limits and
// cursors get a documented 4xx (or a success only when the input is valid),
// a rejected request changes no row, another tenant's ids are always 404
// not_found, and the server stays healthy.
import fc from 'fast-check';
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
import {
  countRows,
  enrollDevice,
  expectDocumentedError,
  expectHealthy,
  type FuzzDevice,
  grantConsent,
  publishPolicy,
  type RawAnswer,
  randomPathSegment,
  rowsUnchangedUnless,
  send,
  sendJson,
  storableText,
  wrongType,
} from './fuzz-fixture.js';

const MAX_INT4 = 2 ** 31 - 1;
const anyText = fc.string({ unit: 'binary', maxLength: 30 });
const scope = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('activity', 'network', 'operational') },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/) },
  { weight: 1, arbitrary: fc.constantFrom('Activity', '', '-x', 'a'.repeat(65)) },
  { weight: 1, arbitrary: anyText },
);
// Integers a PostgreSQL `integer` column holds, plus values the schemas refuse before SQL.
const versionish = fc.oneof(
  fc.integer({ min: -5, max: 12 }),
  fc.integer({ min: 1, max: MAX_INT4 }),
  fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, 1e300),
  fc.string({ maxLength: 4 }),
  wrongType,
);

/** A path segment: percent-encoded random text (never U+0000), or raw broken escapes. */
const idSegment = fc.oneof(
  { weight: 4, arbitrary: randomPathSegment(40) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%ED%A0%80', 'a%2', '..', '%2F', '%20'),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^dev_[A-Za-z0-9]{4,30}$/) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constant('x'.repeat(2000)) },
);

const queryValue = fc.oneof(
  fc.integer({ min: -3, max: 1003 }).map(String),
  fc.constantFrom('', ' 5 ', '0x10', '1e2', '1.5', 'NaN', 'Infinity', '-0', '00010', '1e400'),
  fc.constantFrom('9007199254740991', '9007199254740993', '99999999999999999999', '+3'),
  storableText({ maxLength: 6 }),
);

function integerOrUndefined(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  return Number(raw);
}

describeEachDatabase('admin routes refuse bad input', (current) => {
  let server: TestServer;
  let acme: FuzzDevice;
  let globex: FuzzDevice;
  let acmeLedgerId: string;

  beforeAll(async () => {
    server = await startTestServer(current().db);
    await publishPolicy(server, 'acme', 1, ['activity', 'network']);
    await publishPolicy(server, 'globex', 1, ['activity']);
    acme = await enrollDevice(server, 'acme');
    globex = await enrollDevice(server, 'globex');
    await grantConsent(server, acme.deviceId, ['activity']);
    const consent = await call(`${server.url}/v1/admin/devices/${acme.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
    });
    acmeLedgerId = consent.body.ledger.at(-1).id;
  }, 30_000);
  afterAll(async () => {
    await server.close();
  });

  it('answers random policy bodies with 201 or a documented 4xx, storing nothing when refused', async () => {
    const body = fc.oneof(
      { weight: 1, arbitrary: fc.jsonValue() },
      {
        weight: 5,
        arbitrary: fc.record(
          {
            // Only tenants that exist: a refused policy for a new tenant leaves a tenant row
            // behind today (see the skipped test).
            tenant: fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom('acme', 'globex') },
              { weight: 1, arbitrary: fc.constantFrom('ACME', '', 'a'.repeat(65), 'acme ') },
              { weight: 1, arbitrary: wrongType },
            ),
            version: versionish,
            scopes: fc.oneof(fc.array(scope, { maxLength: 4 }), wrongType),
            text: fc.oneof(
              storableText({ maxLength: 40 }),
              fc.constantFrom(' ', '\n\t', 'x'.repeat(100_000), 'x'.repeat(100_001)),
              wrongType,
            ),
            url: fc.oneof(
              fc.webUrl(),
              fc.constantFrom('ftp://x.example', 'not a url', 'http://', 'https://localhost'),
              storableText({ maxLength: 10 }),
            ),
            extra: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN, GLOBEX_ADMIN_TOKEN),
        body,
        async (token, value) => {
          const answer = await rowsUnchangedUnless(
            current().db,
            (a) => a.status === 201,
            () => sendJson(`${server.url}/v1/admin/policies`, token, value),
          );
          if (answer.status === 201) {
            expect(answer.body.tenantId).toBe((value as { tenant: string }).tenant);
          }
        },
      ),
      { numRuns: 120 },
    );
    await expectHealthy(server);
  });

  it('answers random consent actions with 200 or a documented 4xx, storing nothing when refused', async () => {
    const body = fc.oneof(
      { weight: 1, arbitrary: fc.jsonValue() },
      {
        weight: 6,
        arbitrary: fc
          .record({
            action: fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom('grant', 'withdraw') },
              { weight: 1, arbitrary: fc.constantFrom('revoke', 'GRANT', '') },
              { weight: 1, arbitrary: wrongType },
            ),
            scopes: fc.oneof(fc.array(scope, { maxLength: 3 }), wrongType),
            policyVersion: versionish,
            expiresAt: fc.oneof(
              fc
                .integer({ min: -3_600_000, max: 365 * 24 * 3_600_000 })
                .map((offset) => new Date(Date.now() + offset).toISOString()),
              fc
                .date({
                  min: new Date('0001-01-01T00:00:00Z'),
                  max: new Date('9999-12-31T23:59:59Z'),
                  noInvalidDate: true,
                })
                .map((date) => date.toISOString()),
              fc.constantFrom('2030-01-01', 'tomorrow', '2030-01-01T00:00:00'),
              fc.integer(),
              wrongType,
            ),
            extra: fc.jsonValue(),
          })
          .chain((fields) =>
            fc
              .subarray(['scopes', 'policyVersion', 'expiresAt', 'extra'] as const, {
                maxLength: 2,
              })
              .map((keys) => ({
                action: fields.action,
                ...Object.fromEntries(keys.map((key) => [key, fields[key]])),
              })),
          ),
      },
    );
    const outcomes = { changed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN),
        body,
        async (token, value) => {
          const answer = await rowsUnchangedUnless(
            current().db,
            (a) => a.status === 200,
            () => sendJson(`${server.url}/v1/admin/devices/${acme.deviceId}/consent`, token, value),
          );
          if (answer.status === 200) {
            outcomes.changed += 1;
            expect(['granted', 'withdrawn', 'pending']).toContain(answer.body.status);
          } else outcomes.refused += 1;
        },
      ),
      { numRuns: 120 },
    );
    // Both sides of the property were exercised.
    expect(outcomes.changed).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
    await expectHealthy(server);
  });

  it('answers random device ids, receipt ids and limits with 404, 400 or data, never a 5xx', async () => {
    const before = await countRows(current().db);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(idSegment, fc.constant('ACME_DEVICE')),
        fc.constantFrom('', '/events', '/reports', '/consent', 'receipt'),
        fc.option(queryValue, { freq: 2 }),
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN),
        async (segment, suffix, limit, token) => {
          const id = segment === 'ACME_DEVICE' ? acme.deviceId : segment;
          const query = limit === null ? '' : `?limit=${encodeURIComponent(limit)}`;
          const path =
            suffix === 'receipt'
              ? `/v1/admin/consent-receipts/${id}`
              : `/v1/admin/devices/${id}${suffix}${query}`;
          const answer = await send(`${server.url}${path}`, { token });
          if (answer.status === 200) {
            expect(segment).toBe('ACME_DEVICE');
            expect(suffix).not.toBe('receipt');
            return;
          }
          expectDocumentedError(answer, ['not_found', 'invalid_request']);
          if (segment === 'ACME_DEVICE' && suffix !== 'receipt') {
            // The device exists: only a bad limit on a list route may refuse it.
            expect(answer.body.error.code).toBe('invalid_request');
            const number = integerOrUndefined(limit);
            expect(
              number !== undefined && Number.isInteger(number) && number >= 1 && number <= 1000,
            ).toBe(false);
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(await countRows(current().db)).toEqual(before);
    // Canonical limits on the real device always work.
    for (const limit of ['1', '100', '1000']) {
      for (const list of ['events', 'reports']) {
        const answer = await send(
          `${server.url}/v1/admin/devices/${acme.deviceId}/${list}?limit=${limit}`,
          { token: ACME_ADMIN_TOKEN },
        );
        expect(answer.status).toBe(200);
      }
    }
    await expectHealthy(server);
  });

  it('pages the audit log with any afterSeq and limit: 200 when both are in range, else 400', async () => {
    const before = await countRows(current().db);
    await fc.assert(
      fc.asyncProperty(
        fc.option(queryValue, { freq: 3 }),
        fc.option(queryValue, { freq: 3 }),
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN, GLOBEX_ADMIN_TOKEN),
        async (afterSeq, limit, token) => {
          const params = new URLSearchParams();
          if (afterSeq !== null) params.set('afterSeq', afterSeq);
          if (limit !== null) params.set('limit', limit);
          const answer = await send(`${server.url}/v1/admin/audit?${params}`, { token });
          const seq = integerOrUndefined(afterSeq);
          const size = integerOrUndefined(limit);
          const inRange =
            (seq === undefined || (Number.isSafeInteger(seq) && seq >= 0)) &&
            (size === undefined || (Number.isInteger(size) && size >= 1 && size <= 1000));
          if (!inRange) {
            expectDocumentedError(answer, ['invalid_request']);
            return;
          }
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          const entries = answer.body.entries as Array<{ seq: number; tenant: string | null }>;
          expect(entries.length).toBeLessThanOrEqual(size ?? 100);
          for (const entry of entries) expect(entry.seq).toBeGreaterThan(seq ?? 0);
          if (token === ACME_ADMIN_TOKEN) for (const e of entries) expect(e.tenant).toBe('acme');
          if (token === GLOBEX_ADMIN_TOKEN) {
            for (const e of entries) expect(e.tenant).toBe('globex');
          }
        },
      ),
      { numRuns: 120 },
    );
    expect(await countRows(current().db)).toEqual(before);
    for (const token of [ACME_ADMIN_TOKEN, GLOBEX_ADMIN_TOKEN]) {
      const refused = await send(`${server.url}/v1/admin/audit/verify`, { token });
      expectDocumentedError(refused, ['forbidden']);
      expect(refused.status).toBe(403);
    }
    const verified = await send(`${server.url}/v1/admin/audit/verify`, { token: OPERATOR_TOKEN });
    expect(verified.status).toBe(200);
    expect(verified.body.ok).toBe(true);
    await expectHealthy(server);
  });

  it("answers 404 not_found on every route for another tenant's device and ledger entry", async () => {
    const before = await countRows(current().db);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          { token: GLOBEX_ADMIN_TOKEN, target: 'acme' },
          { token: ACME_ADMIN_TOKEN, target: 'globex' },
        ),
        fc.constantFrom(
          'GET /',
          'GET /events',
          'GET /reports',
          'GET /consent',
          'POST /consent',
          'GET receipt',
        ),
        fc.option(queryValue, { freq: 2 }),
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            action: fc.constantFrom('grant', 'withdraw'),
            scopes: fc.array(scope, { maxLength: 2 }),
          }),
        ),
        async ({ token, target }, route, limit, body) => {
          const deviceId = target === 'acme' ? acme.deviceId : globex.deviceId;
          const base = `${server.url}/v1/admin/devices/${encodeURIComponent(deviceId)}`;
          let answer: RawAnswer;
          if (route === 'GET receipt') {
            if (target !== 'acme') return;
            answer = await send(`${server.url}/v1/admin/consent-receipts/${acmeLedgerId}`, {
              token,
            });
          } else if (route === 'POST /consent') {
            answer = await sendJson(`${base}/consent`, token, body);
          } else {
            const suffix = route.slice(5);
            const query = limit === null ? '' : `?limit=${encodeURIComponent(limit)}`;
            answer = await send(`${base}${suffix === '/' ? '' : suffix}${query}`, { token });
          }
          expectDocumentedError(answer, ['not_found']);
          expect(answer.status).toBe(404);
        },
      ),
      { numRuns: 80 },
    );
    expect(await countRows(current().db)).toEqual(before);
    // The owner and the operator still see them.
    const own = await send(`${server.url}/v1/admin/consent-receipts/${acmeLedgerId}`, {
      token: ACME_ADMIN_TOKEN,
    });
    expect(own.status).toBe(200);
    const listed = await send(`${server.url}/v1/admin/devices`, { token: GLOBEX_ADMIN_TOKEN });
    expect(listed.body.devices.map((d: { id: string }) => d.id)).toEqual([globex.deviceId]);
    await expectHealthy(server);
  });

  it('answers random admin credentials on every admin route with 401', async () => {
    const before = await countRows(current().db);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'GET /v1/admin/devices',
          'GET /v1/admin/devices/ACME',
          'GET /v1/admin/devices/ACME/events',
          'GET /v1/admin/devices/ACME/reports',
          'GET /v1/admin/devices/ACME/consent',
          'POST /v1/admin/devices/ACME/consent',
          'POST /v1/admin/policies',
          'GET /v1/admin/audit',
          'GET /v1/admin/audit/verify',
          'GET /v1/admin/consent-receipts/LEDGER',
        ),
        fc.oneof(
          fc.constant('device'),
          fc.string({ maxLength: 60 }),
          fc.constantFrom(`${OPERATOR_TOKEN}x`, OPERATOR_TOKEN.slice(0, -1), ''),
        ),
        async (route, credential) => {
          const [method, rawPath] = route.split(' ') as [string, string];
          const path = rawPath.replace('ACME', acme.deviceId).replace('LEDGER', acmeLedgerId);
          const token = credential === 'device' ? acme.deviceToken : credential;
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (/^[\x21-\x7e]+$/.test(token)) headers.authorization = `Bearer ${token}`;
          const answer = await send(`${server.url}${path}`, {
            method,
            headers,
            ...(method === 'POST'
              ? { body: JSON.stringify({ action: 'withdraw', tenant: 'acme' }) }
              : {}),
          });
          expectDocumentedError(answer, ['unauthenticated', 'invalid_token']);
          expect(answer.status).toBe(401);
        },
      ),
      { numRuns: 60 },
    );
    expect(await countRows(current().db)).toEqual(before);
    await expectHealthy(server);
  });

  it('stored nothing from refusals, collected no server error and is still ready', async () => {
    expect((await countRows(current().db)).dead_letters).toBe(0);
    await expectHealthy(server);
  });
});
