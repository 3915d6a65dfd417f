// Property-based bad input on the webhook admin routes: random bodies, ids and limits get a
// documented 4xx (or a success only when the input is valid), no request ends in a 500, a
// refused creation stores nothing, and another tenant's endpoint is always 404.
import { createWebhookRequestSchema, NOTIFICATION_TYPES } from '@fieldline/core';
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
  expectDocumentedError,
  randomPathSegment,
  send,
  sendJson,
  storableText,
  wrongType,
} from './fuzz-fixture.js';

const url = fc.oneof(
  fc.constantFrom(
    'https://hooks.example.com/in',
    'http://hooks.example.com:8080/x?y=1',
    'ftp://hooks.example.com/x',
    'https://user:pw@hooks.example.com/',
    'http://127.0.0.1/x',
    'http://[::1]/x',
    'http://169.254.169.254/latest/meta-data',
    'http://localhost/x',
    'javascript:alert(1)',
    '',
    `https://hooks.example.com/${'a'.repeat(2100)}`,
  ),
  fc.webUrl(),
  storableText({ maxLength: 20 }),
  wrongType,
);
const events = fc.oneof(
  fc.subarray([...NOTIFICATION_TYPES], { minLength: 1 }),
  fc.array(fc.oneof(fc.constantFrom(...NOTIFICATION_TYPES), storableText({ maxLength: 12 }))),
  wrongType,
);
const tenant = fc.oneof(fc.constantFrom('acme', 'globex', 'nope', 'ACME', ''), wrongType);

describeEachDatabase('webhook admin routes refuse bad input', (current) => {
  let server: TestServer;
  let acmeEndpoint: string;

  beforeAll(async () => {
    server = await startTestServer(current().db, { webhookSecretKey: new Uint8Array(32) });
    for (const name of ['acme', 'globex']) {
      await call(`${server.url}/v1/admin/install-tokens`, {
        token: OPERATOR_TOKEN,
        body: { tenant: name },
      });
    }
    const created = await call(`${server.url}/v1/admin/webhooks`, {
      token: ACME_ADMIN_TOKEN,
      body: { tenant: 'acme', url: 'https://hooks.example.com/a', events: ['policy.published'] },
    });
    expect(created.status).toBe(201);
    acmeEndpoint = created.body.id;
  }, 60_000);
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  it('creation: a 201 only for a valid body, else a documented 4xx that stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            tenant,
            url,
            events,
            description: fc.oneof(storableText({ maxLength: 10 }), wrongType),
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          const before = await current().db.selectFrom('webhook_endpoints').select('id').execute();
          const answer = await sendJson(`${server.url}/v1/admin/webhooks`, ACME_ADMIN_TOKEN, body);
          const after = await current().db.selectFrom('webhook_endpoints').select('id').execute();
          if (answer.status === 201) {
            expect(createWebhookRequestSchema.safeParse(body).success).toBe(true);
            expect(answer.body.secret).toMatch(/^whsec_/);
            expect(after).toHaveLength(before.length + 1);
          } else {
            expectDocumentedError(answer);
            expect(after).toHaveLength(before.length);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('ids, limits and PATCH bodies: documented answers; another tenant sees 404', async () => {
    await fc.assert(
      fc.asyncProperty(
        randomPathSegment(40),
        fc.oneof(fc.integer({ min: -3, max: 600 }).map(String), storableText({ maxLength: 5 })),
        fc.record(
          { url, events, enabled: fc.oneof(fc.boolean(), wrongType) },
          { requiredKeys: [] },
        ),
        async (id, limit, patch) => {
          for (const path of [
            `/v1/admin/webhooks/${id}`,
            `/v1/admin/webhooks/${id}/deliveries`,
            `/v1/admin/webhook-deliveries/${id}/redeliver`,
          ]) {
            const answer = await send(`${server.url}${path}`, {
              token: ACME_ADMIN_TOKEN,
              method: path.endsWith('redeliver') ? 'POST' : 'GET',
            });
            expectDocumentedError(answer, ['not_found']);
          }
          const listed = await send(
            `${server.url}/v1/admin/webhooks/${acmeEndpoint}/deliveries?limit=${encodeURIComponent(limit)}`,
            { token: ACME_ADMIN_TOKEN },
          );
          const n = Number(limit);
          if (/^\d+$/.test(limit) && n >= 1 && n <= 500) expect(listed.status).toBe(200);
          else expectDocumentedError(listed, ['invalid_request']);
          const foreign = await send(`${server.url}/v1/admin/webhooks/${acmeEndpoint}`, {
            token: GLOBEX_ADMIN_TOKEN,
            method: 'PATCH',
            body: JSON.stringify(patch),
            headers: { 'content-type': 'application/json' },
          });
          expectDocumentedError(foreign, ['not_found']);
          const patched = await send(`${server.url}/v1/admin/webhooks/${acmeEndpoint}`, {
            token: ACME_ADMIN_TOKEN,
            method: 'PATCH',
            body: JSON.stringify(patch),
            headers: { 'content-type': 'application/json' },
          });
          if (patched.status !== 200) expectDocumentedError(patched);
        },
      ),
      { numRuns: 60 },
    );
  });
});
