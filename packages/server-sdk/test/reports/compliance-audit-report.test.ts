// GET /v1/reports/compliance and /v1/reports/audit over a real socket on both databases, with
// the figures made by the real paths: enrollment, consent changes through the admin API, and
// sealed batches through the ingestion pipeline, whose consent refusals are counted per device,
// local day (the tenant's zone) and scope.
import { randomUUID } from 'node:crypto';
import {
  auditReportSchema,
  complianceReportSchema,
  encodeSealedBody,
  generateIdentity,
  type Identity,
  publicKeysOf,
  SealKind,
  sealJson,
} from '@fieldline/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../support/report-fixtures.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

// UTC+14: the local day differs from the UTC day from 10:00 UTC on.
const ZONE = 'Pacific/Kiritimati';

function localDay(at: Date, zone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(at);
}

interface Device {
  identity: Identity;
  deviceId: string;
  deviceToken: string;
  serverKey: string;
}

let seq = 0;
function event(type: string, scope: string, data: Record<string, unknown>, occurredAt: Date) {
  const hex = Date.now().toString(16).padStart(12, '0') + randomUUID().replace(/-/g, '').slice(12);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return { id, type, occurredAt: occurredAt.toISOString(), seq: seq++, scope, data };
}

describeEachDatabase('compliance and audit reports', (current) => {
  let server: TestServer;
  const devices: Device[] = [];
  const today = localDay(new Date(), ZONE);

  async function postEvents(device: Device, events: unknown[], drops?: Record<string, number>) {
    const frame = await sealJson({
      kind: SealKind.EventBatch,
      senderId: device.deviceId,
      messageId: randomUUID(),
      timestampMs: Date.now(),
      payload: {
        batchId: randomUUID(),
        sentAt: new Date().toISOString(),
        events,
        ...(drops === undefined ? {} : { drops }),
      },
      recipientEncryptionPublicKey: device.serverKey,
      sender: device.identity,
    });
    const response = await call(`${server.url}/v1/events`, {
      token: device.deviceToken,
      body: encodeSealedBody(frame),
    });
    expect(response.status).toBe(200);
    return response.body.results.map((r: { status: string; code?: string }) => r.code ?? r.status);
  }

  async function enroll(tenant: string): Promise<Device> {
    const install = await call(`${server.url}/v1/admin/install-tokens`, {
      token: OPERATOR_TOKEN,
      body: { tenant },
    });
    const identity = await generateIdentity();
    const enrolled = await call(`${server.url}/v1/enroll`, {
      token: install.body.token,
      body: { hostname: 'h', os: 'linux', arch: 'x64', publicKeys: publicKeysOf(identity) },
    });
    expect(enrolled.status).toBe(201);
    return {
      identity,
      deviceId: enrolled.body.deviceId,
      deviceToken: enrolled.body.deviceToken,
      serverKey: enrolled.body.serverPublicKeys.encryptionPublicKey,
    };
  }

  async function consent(device: Device, action: 'grant' | 'withdraw', scopes?: string[]) {
    const response = await call(`${server.url}/v1/admin/devices/${device.deviceId}/consent`, {
      token: OPERATOR_TOKEN,
      body: { action, ...(scopes === undefined ? {} : { scopes }) },
    });
    expect(response.status).toBe(200);
  }

  const compliance = (
    query: string,
    token = ACME_ADMIN_TOKEN,
    headers: Record<string, string> = {},
  ) => call(`${server.url}/v1/reports/compliance?${query}`, { token, headers });

  beforeAll(async () => {
    const { db } = current();
    server = await startTestServer(db);
    await db
      .insertInto('tenants')
      .values({ id: 'acme' })
      .onConflict((oc) => oc.doNothing())
      .execute();
    await db.insertInto('tenant_settings').values({ tenant_id: 'acme', time_zone: ZONE }).execute();
    for (const tenant of ['acme', 'globex']) {
      const policy = await call(`${server.url}/v1/admin/policies`, {
        token: OPERATOR_TOKEN,
        body: { tenant, version: 1, scopes: ['activity', 'network'], text: 'We collect activity.' },
      });
      expect(policy.status).toBe(201);
    }
    devices.push(await enroll('acme'), await enroll('acme'), await enroll('globex'));
  }, 60_000);
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  describe('consent refusals through ingestion', () => {
    it('counts refused events per device, local day and scope, one row per key', async () => {
      const [first, second] = devices as [Device, Device];
      // Yesterday 12:00 UTC is already today in UTC+14, so the zone decides the day.
      const utcNow = new Date();
      const noonYesterday = new Date(
        Date.UTC(utcNow.getUTCFullYear(), utcNow.getUTCMonth(), utcNow.getUTCDate() - 1, 12),
      );
      const early = localDay(noonYesterday, ZONE);
      expect(early).not.toBe(localDay(noonYesterday, 'UTC'));
      // Before any grant: three activity events and one network event are refused.
      expect(
        await postEvents(first, [
          event('activity.app.launched', 'activity', { app: 'a' }, noonYesterday),
          event('activity.app.launched', 'activity', { app: 'b' }, noonYesterday),
          event('activity.app.launched', 'activity', { app: 'c' }, new Date()),
          event(
            'activity.network.volume',
            'network',
            { intervalMs: 1000, bytesIn: 1, bytesOut: 1 },
            new Date(),
          ),
        ]),
      ).toEqual(['consent_required', 'consent_required', 'consent_required', 'consent_required']);
      await consent(first, 'grant', ['activity']);
      // Granted activity is stored; network is still refused, and adds to the same row.
      expect(
        await postEvents(
          first,
          [
            event('activity.app.launched', 'activity', { app: 'd' }, new Date()),
            event(
              'activity.network.volume',
              'network',
              { intervalMs: 1000, bytesIn: 1, bytesOut: 1 },
              new Date(),
            ),
          ],
          { overflow: 2, no_consent: 5 },
        ),
      ).toEqual(['accepted', 'consent_required']);
      await consent(first, 'withdraw');
      expect(
        await postEvents(first, [
          event('activity.app.launched', 'activity', { app: 'e' }, new Date()),
        ]),
      ).toEqual(['consent_required']);
      await consent(second, 'grant', ['activity', 'network']);

      const want = new Map<string, number>();
      const add = (day: string, scope: string, count: number) =>
        want.set(`${day}|${scope}`, (want.get(`${day}|${scope}`) ?? 0) + count);
      add(early, 'activity', 2);
      add(today, 'activity', 2);
      add(today, 'network', 2);
      const rows = await current()
        .db.selectFrom('consent_refusals')
        .select(['tenant_id', 'device_id', 'day', 'scope', 'events'])
        .orderBy('day')
        .orderBy('scope')
        .execute();
      expect(rows).toEqual(
        [...want]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([key, events]) => {
            const [day, scope] = key.split('|');
            return { tenant_id: 'acme', device_id: first.deviceId, day, scope, events };
          }),
      );
    });

    it('reports consent, re-consent, ledger counts, refusals and drops per device', async () => {
      const [first, second] = devices as [Device, Device];
      const yesterday = localDay(new Date(Date.now() - 86_400_000), ZONE);
      const response = await compliance(`from=${yesterday}&to=${today}`);
      expect(response.status).toBe(200);
      const report = complianceReportSchema.parse(response.body);
      const byId = new Map(report.rows.map((row) => [row.deviceId, row]));
      expect(report.rows).toHaveLength(2);
      expect(byId.get(first.deviceId)).toEqual({
        deviceId: first.deviceId,
        consentStatus: 'withdrawn',
        policyVersion: 1,
        latestPolicyVersion: 1,
        reconsentPending: false,
        grants: 1,
        withdrawals: 1,
        refusedEvents: 6,
        refusedByScope: { activity: 4, network: 2 },
        drops: { overflow: 2, no_consent: 5 },
      });
      expect(byId.get(second.deviceId)).toMatchObject({
        consentStatus: 'granted',
        reconsentPending: false,
        grants: 1,
        withdrawals: 0,
        refusedEvents: 0,
        drops: {},
      });
      // A range without the day counts nothing, but still shows the state now.
      const earlier = await compliance('from=2020-01-01&to=2020-01-31');
      expect(
        earlier.body.rows.find((row: { deviceId: string }) => row.deviceId === first.deviceId),
      ).toMatchObject({
        consentStatus: 'withdrawn',
        grants: 0,
        refusedEvents: 0,
      });
    });

    it('marks re-consent pending after a new policy version, with a new ETag', async () => {
      const [, second] = devices as [Device, Device];
      const before = await compliance(`from=${today}&to=${today}&device=${second.deviceId}`);
      const etag = before.headers.get('etag') ?? '';
      const same = await compliance(
        `from=${today}&to=${today}&device=${second.deviceId}`,
        ACME_ADMIN_TOKEN,
        {
          'if-none-match': etag,
        },
      );
      expect(same.status).toBe(304);
      const policy = await call(`${server.url}/v1/admin/policies`, {
        token: OPERATOR_TOKEN,
        body: { tenant: 'acme', version: 2, scopes: ['activity'], text: 'Less.' },
      });
      expect(policy.status).toBe(201);
      const after = await compliance(
        `from=${today}&to=${today}&device=${second.deviceId}`,
        ACME_ADMIN_TOKEN,
        {
          'if-none-match': etag,
        },
      );
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(etag);
      expect(after.body.rows).toEqual([
        expect.objectContaining({
          deviceId: second.deviceId,
          latestPolicyVersion: 2,
          reconsentPending: true,
        }),
      ]);
    });

    it('writes compliance CSV with counts as JSON cells', async () => {
      const [first] = devices as [Device];
      const response = await fetch(
        `${server.url}/v1/reports/compliance?from=${localDay(new Date(Date.now() - 86_400_000), ZONE)}&to=${today}&device=${first.deviceId}&format=csv`,
        { headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}` } },
      );
      const [header, record] = parseCsv(await response.text());
      expect(header).toEqual([
        'deviceId',
        'consentStatus',
        'policyVersion',
        'latestPolicyVersion',
        'reconsentPending',
        'grants',
        'withdrawals',
        'refusedEvents',
        'refusedByScope',
        'drops',
      ]);
      // Version 2 re-asks the withdrawn device: it is pending again.
      expect(record?.slice(1, 5)).toEqual(['pending', '2', '2', 'true']);
      expect(JSON.parse(record?.[8] ?? '')).toEqual({ activity: 4, network: 2 });
    });

    it('keeps tenants apart', async () => {
      const globexDevice = devices[2] as Device;
      const other = await compliance(`from=${today}&to=${today}&device=${globexDevice.deviceId}`);
      expect(other.status).toBe(404);
      const named = await compliance(`tenant=globex&from=${today}&to=${today}`);
      expect(named.status).toBe(403);
      const own = await compliance(`from=${today}&to=${today}`, GLOBEX_ADMIN_TOKEN);
      expect(own.body.rows.map((row: { deviceId: string }) => row.deviceId)).toEqual([
        globexDevice.deviceId,
      ]);
      const bad = await compliance(`from=${today}&to=2019-01-01`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
    });
  });

  describe('audit report', () => {
    const audit = (query: string, token = ACME_ADMIN_TOKEN) =>
      call(`${server.url}/v1/reports/audit?${query}`, { token });

    it("lists the tenant's entries of the range with a passing chain check", async () => {
      const response = await audit(`from=${today}&to=${today}`);
      expect(response.status).toBe(200);
      const report = auditReportSchema.parse(response.body);
      const actions = report.entries.map((entry) => entry.action);
      expect(actions).toContain('events.consent_refused');
      expect(actions.filter((action) => action === 'events.consent_refused')).toHaveLength(3);
      const seqs = report.entries.map((entry) => entry.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(report.verification).toMatchObject({
        ok: true,
        firstBrokenSeq: null,
        fromSeq: seqs[0],
        toSeq: seqs.at(-1),
      });
      // The check covers every row between, globex's included, which the listing leaves out.
      const all = await current().db.selectFrom('audit_log').select('seq').execute();
      const between = all.filter(
        (row) => row.seq >= (seqs[0] ?? 0) && row.seq <= (seqs.at(-1) ?? 0),
      );
      expect(report.verification.checked).toBe(between.length);
      expect(between.length).toBeGreaterThan(seqs.length);
      const filtered = await audit(`from=${today}&to=${today}&action=events.consent_refused`);
      expect(filtered.body.entries).toHaveLength(3);
      expect(
        filtered.body.entries.every((entry: { actor: string }) =>
          entry.actor.startsWith('device:'),
        ),
      ).toBe(true);
      const byActor = await audit(
        `from=${today}&to=${today}&actor=${encodeURIComponent(`device:${devices[0]?.deviceId}`)}`,
      );
      expect(byActor.body.entries.length).toBe(3);
      const empty = await audit('from=2020-01-01&to=2020-01-02');
      expect(empty.body).toEqual({
        from: '2020-01-01',
        to: '2020-01-02',
        verification: { ok: true, checked: 0, firstBrokenSeq: null, fromSeq: null, toSeq: null },
        entries: [],
      });
    });

    it('reports a row changed in place, with a new ETag, in JSON and in CSV headers', async () => {
      const before = await audit(`from=${today}&to=${today}&action=events.consent_refused`);
      const target = before.body.entries[1].seq as number;
      const etag = before.headers.get('etag') ?? '';
      // The database administrator switches the append-only guard off and edits a row.
      const { db } = current();
      await sql`alter table audit_log disable trigger user`.execute(db);
      await sql`update audit_log set details = '{"refused":0}'::jsonb where seq = ${target}`.execute(
        db,
      );
      await sql`alter table audit_log enable trigger user`.execute(db);
      const after = await call(
        `${server.url}/v1/reports/audit?from=${today}&to=${today}&action=events.consent_refused`,
        {
          token: ACME_ADMIN_TOKEN,
          headers: { 'if-none-match': etag },
        },
      );
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(etag);
      expect(after.body.verification).toMatchObject({ ok: false, firstBrokenSeq: target });
      const csv = await fetch(
        `${server.url}/v1/reports/audit?from=${today}&to=${today}&format=csv`,
        {
          headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}` },
        },
      );
      expect(csv.headers.get('fieldline-audit-verified')).toBe('false');
      expect(csv.headers.get('fieldline-audit-first-broken-seq')).toBe(String(target));
      const [header, ...records] = parseCsv(await csv.text());
      expect(header).toEqual(['seq', 'at', 'actor', 'action', 'subject', 'details']);
      const edited = records.find((record) => record[0] === String(target));
      expect(JSON.parse(edited?.[5] ?? '')).toEqual({ refused: 0 });
    });

    it('asks the operator for a tenant and refuses bad parameters', async () => {
      const unnamed = await audit(`from=${today}&to=${today}`, OPERATOR_TOKEN);
      expect(unnamed.status).toBe(400);
      // globex has no settings: its days are UTC days.
      const utcToday = localDay(new Date(), 'UTC');
      const named = await audit(`tenant=globex&from=${utcToday}&to=${utcToday}`, OPERATOR_TOKEN);
      expect(named.status).toBe(200);
      expect(named.body.entries.length).toBeGreaterThan(0);
      const unknown = await audit(`from=${today}&to=${today}&limit=5`);
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.code).toBe('invalid_request');
    });
  });
});
