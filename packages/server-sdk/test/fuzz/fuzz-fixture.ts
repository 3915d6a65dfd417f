// Shared pieces of the property-based bad-input suites: enrolled devices that
// seal real frames, raw requests, row counts, and the documented-error check.
import { randomUUID } from 'node:crypto';
import {
  encodeSealedBody,
  generateIdentity,
  HTTP_ERROR_STATUS,
  type Identity,
  publicKeysOf,
  sealJson,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';
import { call, OPERATOR_TOKEN, type TestServer } from '../support/test-server.js';

export { randomPathSegment, storableText, wrongType } from '../support/fuzz-arbitraries.js';

const DOCUMENTED = new Map<string, number>(Object.entries(HTTP_ERROR_STATUS));

/** An enrolled device that can seal frames to the server. */
export interface FuzzDevice {
  readonly identity: Identity;
  readonly deviceId: string;
  readonly deviceToken: string;
  readonly serverKey: string;
}

/** A raw answer: status, headers and the parsed JSON body (undefined when empty). */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape, read by assertions.
  readonly body: any;
}

/** Asserts a documented 4xx error body whose status matches `HTTP_ERROR_STATUS[code]`. */
export function expectDocumentedError(answer: RawAnswer, codes?: readonly string[]): void {
  expect(answer.status, JSON.stringify(answer.body)).toBeGreaterThanOrEqual(400);
  expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
  const error = (answer.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  expect(typeof error?.message).toBe('string');
  expect(DOCUMENTED.get(error?.code ?? '')).toBe(answer.status);
  if (codes !== undefined) expect(codes).toContain(error?.code);
}

/** The code of an error answer, or undefined for a success. */
export function errorCode(answer: RawAnswer): string | undefined {
  return (answer.body as { error?: { code?: string } } | undefined)?.error?.code;
}

/**
 * Sends a request with any body bytes and headers. A 429 (a documented answer of the events
 * route's rate limit) is checked and then retried after the delay it names, as an agent would,
 * so properties see the answer to their input rather than to their pace.
 */
export async function send(
  url: string,
  init: {
    method?: string;
    token?: string;
    body?: string | Uint8Array;
    headers?: Record<string, string>;
  } = {},
): Promise<RawAnswer> {
  for (;;) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    const response = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body,
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = { unparsed: text.slice(0, 200) };
    }
    const answer = { status: response.status, headers: response.headers, body };
    if (response.status !== 429) return answer;
    expectDocumentedError(answer, ['rate_limited']);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    const waitMs = Number(
      (body as { error: { details?: { retryAfterMs?: number } } }).error.details?.retryAfterMs ??
        1000,
    );
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(waitMs, 10), 1500)));
  }
}

/** Sends a JSON-serialisable value as `application/json`. */
export function sendJson(
  url: string,
  token: string | undefined,
  value: unknown,
): Promise<RawAnswer> {
  return send(url, {
    ...(token === undefined ? {} : { token }),
    body: JSON.stringify(value) ?? 'null',
    headers: { 'content-type': 'application/json' },
  });
}

/** Publishes a policy (as the operator) for `tenant`. */
export async function publishPolicy(
  server: TestServer,
  tenant: string,
  version: number,
  scopes: readonly string[],
): Promise<void> {
  const published = await call(`${server.url}/v1/admin/policies`, {
    token: OPERATOR_TOKEN,
    body: { tenant, version, scopes, text: `Policy ${version} of ${tenant}.` },
  });
  expect(published.status).toBe(201);
}

/** Enrolls a fresh device of `tenant` through the real install-token and enroll routes. */
export async function enrollDevice(server: TestServer, tenant: string): Promise<FuzzDevice> {
  const install = await call(`${server.url}/v1/admin/install-tokens`, {
    token: OPERATOR_TOKEN,
    body: { tenant },
  });
  expect(install.status).toBe(201);
  const identity = await generateIdentity();
  const enrolled = await call(`${server.url}/v1/enroll`, {
    token: install.body.token,
    body: { hostname: 'fuzz-host', os: 'linux', arch: 'x64', publicKeys: publicKeysOf(identity) },
  });
  expect(enrolled.status).toBe(201);
  return {
    identity,
    deviceId: enrolled.body.deviceId,
    deviceToken: enrolled.body.deviceToken,
    serverKey: enrolled.body.serverPublicKeys.encryptionPublicKey,
  };
}

/** Grants `scopes` of the tenant's latest policy to a device (as the operator). */
export async function grantConsent(
  server: TestServer,
  deviceId: string,
  scopes: readonly string[],
): Promise<void> {
  const granted = await call(`${server.url}/v1/admin/devices/${deviceId}/consent`, {
    token: OPERATOR_TOKEN,
    body: { action: 'grant', scopes },
  });
  expect(granted.status).toBe(200);
}

/** Overrides of how a frame is sealed; the defaults make a valid frame from `device`. */
export interface SealOverrides {
  readonly senderId?: string;
  readonly signer?: Identity;
  readonly recipientKey?: string;
  readonly timestampMs?: number;
  readonly messageId?: string;
}

/** Seals `payload` as a frame of `kind` from `device` and returns the frame bytes. */
export function sealFrame(
  device: FuzzDevice,
  kind: number,
  payload: unknown,
  overrides: SealOverrides = {},
): Promise<Uint8Array> {
  return sealJson({
    kind,
    senderId: overrides.senderId ?? device.deviceId,
    messageId: overrides.messageId ?? randomUUID(),
    timestampMs: overrides.timestampMs ?? Date.now(),
    payload,
    recipientEncryptionPublicKey: overrides.recipientKey ?? device.serverKey,
    sender: overrides.signer ?? device.identity,
  });
}

/** The JSON text of a sealed body holding `frame`. */
export function sealedBodyText(frame: Uint8Array): string {
  return JSON.stringify(encodeSealedBody(frame));
}

/** A UUIDv7 for now: 48-bit ms, version 7, variant 10, random rest. */
export function uuidv7(atMs = Date.now()): string {
  const hex = atMs.toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Tables a rejected request must never write to. */
export const GUARDED_TABLES = [
  'events',
  'reports',
  'consent_ledger',
  'policies',
  'tenants',
  'devices',
  'outbox',
  'dead_letters',
  'audit_log',
  'commands',
] as const;

export type RowCounts = Record<(typeof GUARDED_TABLES)[number], number>;

/** Row counts of every guarded table. */
export async function countRows(db: Kysely<FieldlineDatabase>): Promise<RowCounts> {
  const counts = {} as RowCounts;
  for (const table of GUARDED_TABLES) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/**
 * Runs a request; unless `succeeded` says it was accepted, the answer must be a documented
 * error and no guarded table may have changed.
 */
export async function rowsUnchangedUnless(
  db: Kysely<FieldlineDatabase>,
  succeeded: (answer: RawAnswer) => boolean,
  request: () => Promise<RawAnswer>,
): Promise<RawAnswer> {
  const before = await countRows(db);
  const answer = await request();
  if (!succeeded(answer)) {
    expectDocumentedError(answer);
    expect(await countRows(db)).toEqual(before);
  }
  return answer;
}

/** The server collected no unexpected error and answers `/readyz` with 200. */
export async function expectHealthy(server: TestServer): Promise<void> {
  expect(server.errors).toEqual([]);
  const ready = await call(`${server.url}/readyz`);
  expect(ready.status).toBe(200);
}
