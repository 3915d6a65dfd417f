// Property-based bad input on the command routes (docs/protocol.md §4.7):
// random bodies, ids and credentials get a documented 4xx (or a success only
// when the input is valid), a refused request writes no row, another tenant's
// ids are always 404, and the server stays healthy.
import { broadcastCommandRequestSchema, createCommandRequestSchema } from '@fieldline/core';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findUnstorableText } from '../../src/db/storable-text.js';
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
  publishPolicy,
  type RawAnswer,
  randomPathSegment,
  rowsUnchangedUnless,
  send,
  sendJson,
  wrongType,
} from './fuzz-fixture.js';

const commandType = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('ping', 'deploy', 'consent.updated', 'x') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 140 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a'.repeat(128), 'a'.repeat(129), 'nul\u0000') },
  { weight: 1, arbitrary: wrongType },
);
const ttlSeconds = fc.oneof(
  fc.integer({ min: -5, max: 40 * 24 * 3600 }),
  fc.constantFrom(0, 1, 30 * 24 * 3600, 30 * 24 * 3600 + 1, 1.5, 1e300, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 4 }),
  wrongType,
);
const commandBody = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom({ text: 'nul\u0000' }, { 'k\u0000': 1 }) },
);
/**
 * A command request: some of type, body, ttlSeconds and a stray key, or one shaped to be valid.
 * The valid-shaped share matters: the random records alone were valid only 1–7 times in 150,
 * so a run could see none and prove nothing about acceptance.
 */
const commandRequest = (extraKeys: Record<string, fc.Arbitrary<unknown>> = {}) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue() },
    {
      weight: 6,
      arbitrary: fc.record(
        { type: commandType, body: commandBody, ttlSeconds, extra: fc.jsonValue(), ...extraKeys },
        { requiredKeys: [] },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constantFrom('ping', 'deploy', 'config.updated'),
        // Undefined leaves the key out of the JSON sent.
        body: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
        ttlSeconds: fc.integer({ min: 1, max: 30 * 24 * 3600 }),
        ...extraKeys,
      }),
    },
  );

/** A path segment: percent-encoded random text (never U+0000), or raw broken escapes. */
const idSegment = fc.oneof(
  {
    weight: 4,
    arbitrary: randomPathSegment(40),
  },
  { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%ED%A0%80', '..', '%2F') },
  { weight: 1, arbitrary: fc.stringMatching(/^cmd_[A-Za-z0-9_-]{4,30}$/) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(2000)) },
);

function isValid(
  schema: { safeParse(value: unknown): { success: boolean } },
  value: unknown,
): boolean {
  return findUnstorableText(value) === undefined && schema.safeParse(value).success;
}

describeEachDatabase('command routes refuse bad input', (current) => {
  let server: TestServer;
  let acme: FuzzDevice;
  let globex: FuzzDevice;
  let acmeCommandId: string;
  let globexCommandId: string;

  beforeAll(async () => {
    server = await startTestServer(current().db);
    await publishPolicy(server, 'acme', 1, ['activity']);
    await publishPolicy(server, 'globex', 1, ['activity']);
    acme = await enrollDevice(server, 'acme');
    globex = await enrollDevice(server, 'globex');
    const create = (deviceId: string) =>
      call(`${server.url}/v1/admin/devices/${deviceId}/commands`, {
        token: OPERATOR_TOKEN,
        body: { type: 'ping' },
      });
    acmeCommandId = (await create(acme.deviceId)).body.id;
    globexCommandId = (await create(globex.deviceId)).body.id;
  }, 60_000);
  afterAll(async () => {
    await server.close();
  });

  it('answers random command bodies with 201 or a documented 4xx, storing nothing when refused', async () => {
    const outcomes = { created: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN),
        commandRequest(),
        async (token, value) => {
          const answer = await rowsUnchangedUnless(
            current().db,
            (a) => a.status === 201,
            () =>
              sendJson(`${server.url}/v1/admin/devices/${acme.deviceId}/commands`, token, value),
          );
          expect(answer.status === 201).toBe(isValid(createCommandRequestSchema, value));
          if (answer.status === 201) {
            outcomes.created += 1;
            expect(answer.body).toEqual({ id: expect.any(String), status: 'pending' });
          } else {
            outcomes.refused += 1;
            expectDocumentedError(answer, ['invalid_request', 'invalid_json']);
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(outcomes.created).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
    await expectHealthy(server);
  });

  it('answers random broadcasts with 200, 403 for another tenant, or 400, storing nothing when refused', async () => {
    const tenant = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('acme', 'globex', 'empty-tenant') },
      { weight: 1, arbitrary: fc.constantFrom('ACME', '', 'a'.repeat(65), 'acme ') },
      { weight: 1, arbitrary: wrongType },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN, GLOBEX_ADMIN_TOKEN),
        commandRequest({ tenant }),
        async (token, value) => {
          const answer = await rowsUnchangedUnless(
            current().db,
            (a) => a.status === 200,
            () => sendJson(`${server.url}/v1/admin/commands/broadcast`, token, value),
          );
          const valid = isValid(broadcastCommandRequestSchema, value);
          if (!valid) {
            expectDocumentedError(answer, ['invalid_request', 'invalid_json']);
            return;
          }
          const target = (value as { tenant: string }).tenant;
          const allowed =
            token === OPERATOR_TOKEN ||
            (token === ACME_ADMIN_TOKEN ? target === 'acme' : target === 'globex');
          if (!allowed) {
            expectDocumentedError(answer, ['forbidden']);
            return;
          }
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          expect(answer.body.count).toBe(target === 'empty-tenant' ? 0 : 1);
          expect(answer.body.ids).toHaveLength(answer.body.count);
        },
      ),
      { numRuns: 120 },
    );
    await expectHealthy(server);
  });

  it('answers random command and device ids with 404 or 400, never a 5xx, and writes nothing', async () => {
    const before = await countRows(current().db);
    await fc.assert(
      fc.asyncProperty(
        idSegment,
        fc.constantFrom('GET command', 'POST device command', 'POST ack'),
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN),
        async (segment, route, adminToken) => {
          let answer: RawAnswer;
          if (route === 'GET command') {
            answer = await send(`${server.url}/v1/admin/commands/${segment}`, {
              token: adminToken,
            });
          } else if (route === 'POST device command') {
            answer = await sendJson(
              `${server.url}/v1/admin/devices/${segment}/commands`,
              adminToken,
              { type: 'ping' },
            );
          } else {
            answer = await sendJson(`${server.url}/v1/commands/${segment}/ack`, acme.deviceToken, {
              status: 'acked',
            });
          }
          expectDocumentedError(answer, ['not_found', 'invalid_request']);
        },
      ),
      { numRuns: 150 },
    );
    expect(await countRows(current().db)).toEqual(before);
    await expectHealthy(server);
  });

  it('answers random acks with 200 only for a valid answer to an own command, never changing another', async () => {
    const ackBody = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          status: fc.oneof(fc.constantFrom('acked', 'rejected', 'ACKED', 'failed'), wrongType),
          reason: fc.oneof(
            fc.string({ maxLength: 20 }),
            fc.constantFrom('x'.repeat(1024), 'x'.repeat(1025), 'nul\u0000'),
            wrongType,
          ),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('own', 'foreign'), ackBody, async (which, value) => {
        const id = which === 'own' ? acmeCommandId : globexCommandId;
        const answer = await rowsUnchangedUnless(
          current().db,
          (a) => a.status === 200,
          () => sendJson(`${server.url}/v1/commands/${id}/ack`, acme.deviceToken, value),
        );
        if (answer.status === 200) {
          expect(which).toBe('own');
          expect(['acked', 'rejected']).toContain(answer.body.status);
          return;
        }
        expectDocumentedError(answer, ['not_found', 'invalid_request', 'invalid_json']);
        // The body is checked before the id: a foreign id with a good body is 404.
        if (answer.body.error.code === 'not_found') expect(which).toBe('foreign');
      }),
      { numRuns: 100 },
    );
    const foreign = await call(`${server.url}/v1/admin/commands/${globexCommandId}`, {
      token: OPERATOR_TOKEN,
    });
    expect(foreign.body).toMatchObject({ status: 'pending', ackedAt: null });
    await expectHealthy(server);
  });

  it("answers 404 on every admin command route for another tenant's device and command", async () => {
    const before = await countRows(current().db);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          { token: GLOBEX_ADMIN_TOKEN, target: 'acme' },
          { token: ACME_ADMIN_TOKEN, target: 'globex' },
        ),
        fc.constantFrom('POST device command', 'GET command'),
        commandRequest(),
        async ({ token, target }, route, body) => {
          const answer =
            route === 'GET command'
              ? await send(
                  `${server.url}/v1/admin/commands/${target === 'acme' ? acmeCommandId : globexCommandId}`,
                  { token },
                )
              : await sendJson(
                  `${server.url}/v1/admin/devices/${target === 'acme' ? acme.deviceId : globex.deviceId}/commands`,
                  token,
                  body,
                );
          expectDocumentedError(answer, ['not_found']);
        },
      ),
      { numRuns: 60 },
    );
    expect(await countRows(current().db)).toEqual(before);
    await expectHealthy(server);
  });

  it('answers random credentials on every command route with 401', async () => {
    const before = await countRows(current().db);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'POST /v1/admin/devices/ACME/commands',
          'POST /v1/admin/commands/broadcast',
          'GET /v1/admin/commands/COMMAND',
          'GET /v1/commands',
          'POST /v1/commands/COMMAND/ack',
        ),
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.constantFrom(`${OPERATOR_TOKEN}x`, `${acme.deviceToken}x`, ''),
        ),
        async (route, credential) => {
          const [method, rawPath] = route.split(' ') as [string, string];
          const path = rawPath.replace('ACME', acme.deviceId).replace('COMMAND', acmeCommandId);
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (/^[\x21-\x7e]+$/.test(credential)) headers.authorization = `Bearer ${credential}`;
          const answer = await send(`${server.url}${path}`, {
            method,
            headers,
            ...(method === 'POST'
              ? { body: JSON.stringify({ type: 'ping', tenant: 'acme', status: 'acked' }) }
              : {}),
          });
          expectDocumentedError(answer, ['unauthenticated', 'invalid_token']);
        },
      ),
      { numRuns: 60 },
    );
    // A device token is no admin token, and an admin token no device token.
    const deviceAsAdmin = await send(`${server.url}/v1/admin/commands/${acmeCommandId}`, {
      token: acme.deviceToken,
    });
    expectDocumentedError(deviceAsAdmin, ['invalid_token']);
    const adminAsDevice = await send(`${server.url}/v1/commands`, { token: OPERATOR_TOKEN });
    expectDocumentedError(adminAsDevice, ['invalid_token']);
    expect(await countRows(current().db)).toEqual(before);
    await expectHealthy(server);
  });
});
