// Property: whatever query string arrives, the report routes answer 200 or 304 or a
// documented 4xx JSON error, never a 5xx.
import { HTTP_ERROR_STATUS } from '@fieldline/core';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

const DOCUMENTED = new Map(Object.entries(HTTP_ERROR_STATUS));
const NAMES = [
  'tenant',
  'device',
  'from',
  'to',
  'groupBy',
  'period',
  'format',
  'action',
  'actor',
  'limit',
];
const NEAR_VALID = [
  'acme',
  'globex',
  '2026-01-01',
  '2026-02-30',
  '2024-02-29',
  '0000-01-01',
  '9999-12-31',
  '2026-13-01',
  'day',
  'day,app,device',
  'app,,day',
  'month',
  'year',
  'csv',
  'json',
  '',
  '\u0000',
  'x'.repeat(300),
];

describeEachDatabase('report queries never yield a 5xx', (current) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(current().db);
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  it.each(['2026-02-30', '0000-01-01', '2026-13-01'])(
    'refuses the day %s with 400',
    async (day) => {
      const response = await fetch(`${server.url}/v1/reports/activity?from=${day}&to=2026-03-01`, {
        headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}` },
      });
      expect(response.status).toBe(400);
    },
  );

  it('answers every query with 200, 304 or a documented 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('activity', 'compliance', 'audit'),
        fc.constantFrom(OPERATOR_TOKEN, ACME_ADMIN_TOKEN),
        fc.array(
          fc.tuple(
            fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 8 })),
            fc.oneof(fc.constantFrom(...NEAR_VALID), fc.string({ maxLength: 30 })),
          ),
          { maxLength: 8 },
        ),
        async (report, token, params) => {
          const query = new URLSearchParams(params).toString();
          const response = await fetch(`${server.url}/v1/reports/${report}?${query}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const text = await response.text();
          if (response.status === 200 || response.status === 304) return;
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          const code = (JSON.parse(text) as { error: { code: string } }).error.code;
          expect(DOCUMENTED.get(code)).toBe(response.status);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
