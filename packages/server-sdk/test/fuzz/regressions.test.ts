// Inputs the property suites once found answered with a 500 (or leaving a row behind) instead
// of the documented 4xx. Each test states the documented behaviour, so a regression shows here
// by name rather than as a shrunk counterexample.
import { randomUUID } from 'node:crypto';
import { SealKind } from '@fieldline/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../support/test-databases.js';
import { OPERATOR_TOKEN, startTestServer, type TestServer } from '../support/test-server.js';
import {
  countRows,
  enrollDevice,
  expectDocumentedError,
  type FuzzDevice,
  publishPolicy,
  sealedBodyText,
  sealFrame,
  send,
  sendJson,
} from './fuzz-fixture.js';

describeEachDatabase('bad inputs the fuzz suites once found', (current) => {
  let server: TestServer;
  let device: FuzzDevice;

  async function expectRefusedWithoutStoring(
    request: () => Promise<{ status: number; headers: Headers; body: unknown }>,
    codes: readonly string[],
  ): Promise<void> {
    const before = await countRows(current().db);
    expectDocumentedError(await request(), codes);
    expect(await countRows(current().db)).toEqual(before);
    expect(server.errors).toEqual([]);
  }

  function report(overrides: Record<string, unknown>) {
    const now = new Date().toISOString();
    return {
      id: randomUUID(),
      job: 'backup',
      startedAt: now,
      finishedAt: now,
      status: 'succeeded',
      durationMs: 1,
      metrics: {},
      ...overrides,
    };
  }

  beforeAll(async () => {
    server = await startTestServer(current().db);
    await publishPolicy(server, 'acme', 1, ['activity']);
    device = await enrollDevice(server, 'acme');
  }, 30_000);
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['U+0000 in job', { job: 'a\u0000b' }],
    ['U+0000 in a metrics key', { metrics: { 'a\u0000': 1 } }],
    ['a lone surrogate in a metrics key', { metrics: { '\ud800': 1 } }],
    ['a lone surrogate in error.message', { error: { message: '\udc00' } }],
    ['year 0000 in startedAt', { startedAt: '0000-01-01T00:00:00Z' }],
  ])('POST /v1/reports refuses a job report with %s (was: 500)', async (_, overrides) => {
    const frame = await sealFrame(device, SealKind.JobReport, report(overrides));
    await expectRefusedWithoutStoring(
      () =>
        send(`${server.url}/v1/reports`, {
          token: device.deviceToken,
          body: sealedBodyText(frame),
          headers: { 'content-type': 'application/json' },
        }),
      ['invalid_request'],
    );
  });

  it.each([
    ['version 2^31', { version: 2 ** 31, text: 'Policy.' }],
    ['U+0000 in text', { version: 2, text: 'a\u0000b' }],
  ])('POST /v1/admin/policies refuses %s (was: 500)', async (_, overrides) => {
    await expectRefusedWithoutStoring(
      () =>
        sendJson(`${server.url}/v1/admin/policies`, OPERATOR_TOKEN, {
          tenant: 'acme',
          scopes: ['activity'],
          ...overrides,
        }),
      ['invalid_request'],
    );
  });

  it('POST /v1/admin/policies stores no tenant row when it refuses the policy (it once did)', async () => {
    await expectRefusedWithoutStoring(
      () =>
        sendJson(`${server.url}/v1/admin/policies`, OPERATOR_TOKEN, {
          tenant: 'brand-new',
          version: 1,
          scopes: ['activity'],
          text: '   ',
        }),
      ['invalid_request'],
    );
  });

  it('POST /v1/admin/devices/:id/consent refuses policyVersion 2^31 (was: 500)', async () => {
    await expectRefusedWithoutStoring(
      () =>
        sendJson(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, OPERATOR_TOKEN, {
          action: 'grant',
          policyVersion: 2 ** 31,
        }),
      ['invalid_request', 'conflict'],
    );
  });

  it.each([
    '/v1/admin/devices/%00',
    '/v1/admin/devices/a%00b/events',
    '/v1/admin/devices/%00/reports',
    '/v1/admin/devices/%00/consent',
    '/v1/admin/consent-receipts/%00',
  ])('GET %s answers 404 or 400 (was: 500)', async (path) => {
    await expectRefusedWithoutStoring(
      () => send(`${server.url}${path}`, { token: OPERATOR_TOKEN }),
      ['not_found', 'invalid_request'],
    );
  });
});
