// Property-based attack on the built reference server from outside its process (issue 11):
// FIELDLINE_FUZZ_REQUESTS generated requests (default 100,000) over real keep-alive sockets,
// across every route, with every kind of credential and body. Holds when no answer is a 5xx,
// every 4xx is the documented JSON error with its code, the process never exits, its memory
// stays bounded, and a valid device still enrolls and delivers at the end.
//
// FIELDLINE_FUZZ_SEED replays a run (the seed is printed with any failure);
// FIELDLINE_FUZZ_CONCURRENCY sets the requests in flight (default 16).
import { randomUUID } from 'node:crypto';
import { HTTP_ERROR_STATUS, SealKind } from '@fieldline/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrollTestDevice,
  issueInstallToken,
  sealedBody,
  type TestDevice,
} from '../support/device-client.js';
import { cliBuilt, type SpawnedServer, spawnServer } from '../support/spawned-server.js';
import {
  type FuzzRequest,
  type FuzzTargets,
  requestArbitrary,
  WIRE_LIMIT_BYTES,
} from './http-request-arbitrary.js';
import { createRawHttpClient, type RawResponse } from './raw-http-client.js';

const REQUESTS = Number(process.env.FIELDLINE_FUZZ_REQUESTS ?? 100_000);
const CONCURRENCY = Number(process.env.FIELDLINE_FUZZ_CONCURRENCY ?? 16);
const SEED = Number(process.env.FIELDLINE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const BATCH = 2_000;
const RSS_EVERY = 5_000;
// Headroom over the starting RSS: the issue's 4 deep bodies alone added 370 MB.
const MAX_RSS_GROWTH_BYTES = 256 * 1024 * 1024;
const DOCUMENTED = new Map<string, number>(Object.entries(HTTP_ERROR_STATUS));

function now(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString();
}

function heartbeatBatch(): string {
  const event = {
    id: uuidv7(),
    type: 'device.heartbeat',
    occurredAt: now(),
    seq: 1,
    scope: 'operational',
    data: {},
  };
  return JSON.stringify({ batchId: randomUUID(), sentAt: now(), events: [event] });
}

function uuidv7(): string {
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function report(metrics: string): string {
  return (
    `{"id":"${randomUUID()}","job":"fuzz","startedAt":"${now(-1000)}","finishedAt":"${now()}",` +
    `"status":"succeeded","durationMs":1000,"metrics":${metrics}}`
  );
}

/** Real frames of both devices: valid, wrong kind, random payloads, too deep, unstorable text. */
async function sealedPool(devices: readonly TestDevice[]): Promise<string[]> {
  const payloads: Array<[number, string]> = [
    [SealKind.EventBatch, heartbeatBatch()],
    [SealKind.JobReport, report('{"bytes":1}')],
    [SealKind.JobReport, heartbeatBatch()],
    [SealKind.EventBatch, report('{}')],
    [SealKind.JobReport, report(`${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`)],
    [SealKind.EventBatch, heartbeatBatch().replace('"data":{}', '"data":{"app":"\\u0000"}')],
    [SealKind.JobReport, report('{"\\ud800":1}')],
    ...fc
      .sample(fc.jsonValue({ maxDepth: 4 }), { numRuns: 12, seed: SEED })
      .map((value): [number, string] => [SealKind.EventBatch, JSON.stringify(value)]),
  ];
  const bodies: string[] = [];
  for (const device of devices) {
    for (const [kind, text] of payloads) bodies.push(await sealedBody(device, kind, text));
  }
  return bodies;
}

async function createCommand(baseUrl: string, adminToken: string, deviceId: string) {
  const response = await fetch(`${baseUrl}/v1/admin/devices/${deviceId}/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'fuzz.ping', ttlSeconds: 3600 }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** Why an answer breaks the suite's property, or undefined when it holds. */
function violation(fuzz: FuzzRequest, response: RawResponse): string | undefined {
  if (response.status >= 500) return `a ${response.status}`;
  if (fuzz.method === 'HEAD') return response.body.byteLength === 0 ? undefined : 'HEAD body';
  if (response.status < 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    return 'a 4xx whose body is not JSON';
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
    return 'a 4xx without { error: { code, message } }';
  }
  if (DOCUMENTED.get(error.code) !== response.status) {
    return `code ${error.code} with status ${response.status}`;
  }
  return undefined;
}

function describeRequest(fuzz: FuzzRequest): string {
  const body = fuzz.body === undefined ? '' : Buffer.from(fuzz.body.subarray(0, 160)).toString();
  return `${fuzz.method} ${fuzz.path.slice(0, 160)} ${JSON.stringify(fuzz.headers).slice(0, 300)} body(${fuzz.body?.byteLength ?? 0}): ${JSON.stringify(body)}`;
}

describe.skipIf(!cliBuilt)('the reference server under generated requests from outside', () => {
  let server: SpawnedServer;
  let targets: FuzzTargets;

  beforeAll(async () => {
    const databaseUrl = process.env.TEST_DATABASE_URL;
    server = await spawnServer(databaseUrl ? { databaseUrl } : {});
    const own = await enrollTestDevice(server.url, server.installToken);
    const other = await enrollTestDevice(
      server.url,
      await issueInstallToken(server.url, server.adminToken, 'other'),
    );
    targets = {
      adminToken: server.adminToken,
      ownDeviceToken: own.deviceToken,
      otherDeviceToken: other.deviceToken,
      ownDeviceId: own.deviceId,
      otherDeviceId: other.deviceId,
      usedInstallToken: server.installToken,
      freshInstallToken: await issueInstallToken(server.url, server.adminToken, 'default'),
      commandIds: [
        await createCommand(server.url, server.adminToken, own.deviceId),
        await createCommand(server.url, server.adminToken, other.deviceId),
      ],
      sealedBodies: await sealedPool([own, other]),
    };
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it(
    `answers ${REQUESTS} generated requests without a 5xx, each 4xx coded, in bounded memory`,
    async () => {
      const arbitrary = requestArbitrary(targets);
      const client = createRawHttpClient(server.url, CONCURRENCY);
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      const rss: number[] = [await server.rssBytes()];
      let closedOnOversize = 0;
      let next = 0;
      let batch: FuzzRequest[] = [];
      let batchStart = 0;
      const take = (): FuzzRequest | undefined => {
        if (next >= REQUESTS || failures.length >= 20 || server.exited() !== undefined) {
          return undefined;
        }
        const index = next++;
        if (index - batchStart >= batch.length) {
          batchStart = index;
          batch = fc.sample(arbitrary, { numRuns: BATCH, seed: SEED + index });
        }
        return batch[index - batchStart];
      };
      const started = performance.now();
      const worker = async () => {
        for (let fuzz = take(); fuzz !== undefined; fuzz = take()) {
          const sent = next;
          let response: RawResponse;
          try {
            response = await client.send(fuzz);
          } catch (error) {
            // An oversized body is answered 413 and the socket closed while it is still being
            // written: the client may see the reset before the answer.
            if ((fuzz.body?.byteLength ?? 0) > WIRE_LIMIT_BYTES) {
              closedOnOversize++;
              continue;
            }
            failures.push(`${(error as Error).message} on ${describeRequest(fuzz)}`);
            continue;
          }
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const wrong = violation(fuzz, response);
          if (wrong !== undefined) {
            failures.push(
              `${wrong} on ${describeRequest(fuzz)} → ${response.body.toString('utf8').slice(0, 300)}`,
            );
          }
          if (sent % RSS_EVERY === 0) rss.push(await server.rssBytes());
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const seconds = (performance.now() - started) / 1000;
      client.close();
      rss.push(await server.rssBytes());

      const mb = (value: number) => Math.round(value / (1024 * 1024));
      // The figures the issue asks for; the suite's only output.
      console.log(
        `http fuzz: ${next} requests in ${seconds.toFixed(1)} s (${Math.round(next / seconds)}/s, ` +
          `${CONCURRENCY} in flight, seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}; ` +
          `${closedOnOversize} oversized bodies cut; server RSS ${mb(rss[0] ?? 0)} → max ${mb(Math.max(...rss))} → ${mb(rss.at(-1) ?? 0)} MB`,
      );
      expect(failures, `seed ${SEED}`).toEqual([]);
      expect(server.exited()).toBeUndefined();
      expect(next).toBe(REQUESTS);
      expect(Math.max(...rss) - (rss[0] ?? 0)).toBeLessThan(MAX_RSS_GROWTH_BYTES);
      expect(server.stderr()).not.toMatch(/unexpected error|Maximum call stack/);
    },
    // Measured under 3 minutes for 100,000 on 2 shared cores; the rest is headroom for CI.
    Math.max(600_000, REQUESTS * 6),
  );

  it('still enrolls a new device and accepts its events afterwards', async () => {
    const device = await enrollTestDevice(
      server.url,
      await issueInstallToken(server.url, server.adminToken, 'default'),
    );
    const response = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${device.deviceToken}`,
        'content-type': 'application/json',
      },
      body: await sealedBody(device, SealKind.EventBatch, heartbeatBatch()),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { results: Array<{ status: string }> };
    expect(answer.results.map((result) => result.status)).toEqual(['accepted']);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(server.exited()).toBeUndefined();
  });
});
