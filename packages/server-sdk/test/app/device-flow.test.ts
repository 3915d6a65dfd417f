// The whole device path over real HTTP on a real database: enroll, consent,
// sealed events stored exactly once, withdrawal, reports, audit and receipts.
import { randomUUID } from 'node:crypto';
import {
  deviceDetailSchema,
  encodeSealedBody,
  generateIdentity,
  type Identity,
  publicKeysOf,
  SealKind,
  sealJson,
} from '@fieldline/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyConsentReceipt } from '../../src/consent/consent-receipt.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, OPERATOR_TOKEN, startTestServer, type TestServer } from '../support/test-server.js';

interface Device {
  identity: Identity;
  deviceId: string;
  deviceToken: string;
  serverKey: string;
}

let seq = 0;
function event(
  type: string,
  scope: string,
  data: Record<string, unknown>,
  occurredAt = new Date(),
) {
  // UUIDv7 with the current time: 48-bit ms, version 7, variant, random.
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return { id, type, occurredAt: occurredAt.toISOString(), seq: seq++, scope, data };
}

describeEachDatabase('device flow over HTTP', (current) => {
  let server: TestServer;
  let device: Device;

  async function seal(kind: number, payload: unknown) {
    const frame = await sealJson({
      kind,
      senderId: device.deviceId,
      messageId: randomUUID(),
      timestampMs: Date.now(),
      payload,
      recipientEncryptionPublicKey: device.serverKey,
      sender: device.identity,
    });
    return encodeSealedBody(frame);
  }

  async function postEvents(events: unknown[]) {
    const body = await seal(SealKind.EventBatch, {
      batchId: randomUUID(),
      sentAt: new Date().toISOString(),
      events,
    });
    return call(`${server.url}/v1/events`, { token: device.deviceToken, body });
  }

  beforeAll(async () => {
    server = await startTestServer(current().db);
    await call(`${server.url}/v1/admin/policies`, {
      token: OPERATOR_TOKEN,
      body: {
        tenant: 'acme',
        version: 1,
        scopes: ['activity', 'network'],
        text: 'We collect app activity.',
      },
    });
    const install = await call(`${server.url}/v1/admin/install-tokens`, {
      token: OPERATOR_TOKEN,
      body: { tenant: 'acme' },
    });
    const identity = await generateIdentity();
    const enrolled = await call(`${server.url}/v1/enroll`, {
      token: install.body.token,
      body: { hostname: 'lab-07', os: 'linux', arch: 'x64', publicKeys: publicKeysOf(identity) },
    });
    expect(enrolled.body.consent).toEqual({ status: 'pending', policyVersion: 1 });
    device = {
      identity,
      deviceId: enrolled.body.deviceId,
      deviceToken: enrolled.body.deviceToken,
      serverKey: enrolled.body.serverPublicKeys.encryptionPublicKey,
    };
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  it('rejects activity before consent, with consent_required, and stores nothing', async () => {
    const response = await postEvents([
      event('activity.app.launched', 'activity', { app: 'calc' }),
    ]);
    expect(response.status).toBe(200);
    expect(response.body.results[0]).toMatchObject({
      status: 'rejected',
      code: 'consent_required',
    });
    expect(response.body.consent).toEqual({ status: 'pending', policyVersion: 1 });
  });

  it('writes one event.refused_no_consent notification per batch, counts per scope only', async () => {
    const before = await current()
      .db.selectFrom('outbox')
      .select('payload')
      .where('topic', '=', 'event.refused_no_consent')
      .execute();
    const response = await postEvents([
      event('activity.app.launched', 'activity', { app: 'calc' }),
      event('activity.app.launched', 'activity', { app: 'mail' }),
      event('activity.network.volume', 'network', {
        interface: 'eth0',
        bytesIn: 1,
        bytesOut: 2,
        intervalMs: 1000,
      }),
    ]);
    expect(response.body.results.map((r: { code?: string }) => r.code)).toEqual([
      'consent_required',
      'consent_required',
      'consent_required',
    ]);
    const after = await current()
      .db.selectFrom('outbox')
      .select(['payload', 'tenant_id'])
      .where('topic', '=', 'event.refused_no_consent')
      .orderBy('seq')
      .execute();
    expect(after).toHaveLength(before.length + 1);
    const last = after.at(-1)!;
    expect(last.tenant_id).toBe('acme');
    expect(last.payload).toEqual({
      deviceId: device.deviceId,
      batchId: expect.any(String),
      refused: { activity: 2, network: 1 },
      at: expect.any(String),
    });
  });

  it('stores granted events exactly once and answers duplicates on resend', async () => {
    const grant = await call(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
      body: { action: 'grant', scopes: ['activity'] },
    });
    expect(grant.status).toBe(200);
    expect(grant.body.status).toBe('granted');
    const events = [
      event('activity.app.launched', 'activity', { app: 'calc', pid: 42 }),
      event('activity.network.volume', 'network', { intervalMs: 60_000, bytesIn: 1, bytesOut: 2 }),
      event('activity.system.active', 'activity', { idleForMs: -1 }),
      event('job.report', 'operational', {
        job: 'backup',
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        status: 'succeeded',
        durationMs: 5,
      }),
    ];
    const first = await postEvents(events);
    expect(
      first.body.results.map((r: { status: string; code?: string }) => r.code ?? r.status),
    ).toEqual(['accepted', 'consent_required', 'invalid_event', 'accepted']);
    expect(first.body.consent.status).toBe('granted');
    const again = await postEvents([events[0], events[3]]);
    expect(again.body.results.map((r: { status: string }) => r.status)).toEqual([
      'duplicate',
      'duplicate',
    ]);
    const stored = await call(`${server.url}/v1/admin/devices/${device.deviceId}/events`, {
      token: OPERATOR_TOKEN,
    });
    expect(stored.body.events.map((e: { id: string }) => e.id).sort()).toEqual(
      [events[0]?.id, events[3]?.id].sort(),
    );
    const detail = await call(`${server.url}/v1/admin/devices/${device.deviceId}`, {
      token: OPERATOR_TOKEN,
    });
    expect(detail.body.eventsStored).toBe(2);
    expect(detail.body.lastSeen).not.toBeNull();
    // The answer is the protocol's device detail, consent snapshot included.
    const parsed = deviceDetailSchema.safeParse(detail.body);
    expect(parsed.error?.issues).toBeUndefined();
    expect(detail.body.consent).toMatchObject({ status: 'granted', policyVersion: 1 });
  });

  it('stops accepting the moment consent is withdrawn, and the response says so', async () => {
    const withdrawn = await call(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
      body: { action: 'withdraw' },
    });
    expect(withdrawn.body.status).toBe('withdrawn');
    const response = await postEvents([event('activity.app.closed', 'activity', { app: 'calc' })]);
    expect(response.body.results[0].code).toBe('consent_required');
    expect(response.body.consent.status).toBe('withdrawn');
  });

  it('refuses a replayed frame and a tampered one, storing nothing', async () => {
    const body = await seal(SealKind.EventBatch, {
      batchId: randomUUID(),
      sentAt: new Date().toISOString(),
      events: [event('device.heartbeat', 'operational', {})],
    });
    expect(
      (await call(`${server.url}/v1/events`, { token: device.deviceToken, body })).status,
    ).toBe(200);
    const replay = await call(`${server.url}/v1/events`, { token: device.deviceToken, body });
    expect([replay.status, replay.body.error.code]).toEqual([409, 'replayed']);
    const tampered = {
      sealed: `${body.sealed.slice(0, 200)}${body.sealed[200] === 'A' ? 'B' : 'A'}${body.sealed.slice(201)}`,
    };
    const refused = await call(`${server.url}/v1/events`, {
      token: device.deviceToken,
      body: tampered,
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
  });

  it('stores a sealed job report once and lists it', async () => {
    const report = {
      id: randomUUID(),
      job: 'backup',
      startedAt: new Date(Date.now() - 1000).toISOString(),
      finishedAt: new Date().toISOString(),
      status: 'succeeded',
      durationMs: 1000,
      metrics: { bytes: 1024 },
    };
    const first = await call(`${server.url}/v1/reports`, {
      token: device.deviceToken,
      body: await seal(SealKind.JobReport, report),
    });
    expect(first.body).toMatchObject({ id: report.id, status: 'accepted' });
    const again = await call(`${server.url}/v1/reports`, {
      token: device.deviceToken,
      body: await seal(SealKind.JobReport, report),
    });
    expect(again.body.status).toBe('duplicate');
    const wrongKind = await call(`${server.url}/v1/reports`, {
      token: device.deviceToken,
      body: await seal(SealKind.EventBatch, report),
    });
    expect(wrongKind.body.error.code).toBe('invalid_sealed_message');
    const listed = await call(`${server.url}/v1/admin/devices/${device.deviceId}/reports`, {
      token: OPERATOR_TOKEN,
    });
    expect(listed.body.reports).toHaveLength(1);
    expect(listed.body.reports[0].metrics).toEqual({ bytes: 1024 });
  });

  it('keeps a verifiable audit chain and signs receipts for ledger entries', async () => {
    const verify = await call(`${server.url}/v1/admin/audit/verify`, { token: OPERATOR_TOKEN });
    expect(verify.body.ok).toBe(true);
    expect(verify.body.checked).toBeGreaterThan(3);
    const audit = await call(`${server.url}/v1/admin/audit`, { token: OPERATOR_TOKEN });
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['consent.granted', 'consent.withdrawn', 'events.consent_refused']),
    );
    const consent = await call(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
    });
    expect(consent.body.consent.status).toBe('withdrawn');
    const grantEntry = consent.body.ledger.find(
      (entry: { event: { type: string } }) => entry.event.type === 'grant',
    );
    const receipt = await call(`${server.url}/v1/admin/consent-receipts/${grantEntry.id}`, {
      token: OPERATOR_TOKEN,
    });
    expect(receipt.status).toBe(200);
    expect(
      verifyConsentReceipt(receipt.body, publicKeysOf(server.serverIdentity).signingPublicKey),
    ).toBe(true);
    expect(
      verifyConsentReceipt(
        { ...receipt.body, record: { ...receipt.body.record, recordId: randomUUID() } },
        publicKeysOf(server.serverIdentity).signingPublicKey,
      ),
    ).toBe(false);
  });
});
