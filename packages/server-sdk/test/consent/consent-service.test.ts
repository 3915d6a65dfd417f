import {
  type ConsentSnapshot,
  consentSnapshotSchema,
  generateIdentity,
  type Identity,
  policyTextSha256,
  publicKeysOf,
} from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit, verifyAuditLog } from '../../src/audit/index.js';
import {
  consentHistory,
  consentReceipt,
  currentConsent,
  grantConsent,
  initializeConsent,
  listConsentLedger,
  publishPolicy,
  verifyConsentReceipt,
  withdrawConsent,
} from '../../src/consent/index.js';
import { isHttpError } from '../../src/http/http-error.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { insertTenant, resetConsentTables } from './consent-fixtures.js';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');

/** The HttpError a promise rejects with, as `{ code, status, detailsCode }`. */
async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isHttpError(error)) throw new Error(`expected an HttpError, got ${String(error)}`);
  return { code: error.code, status: error.status, detailsCode: error.details?.code };
}

describeEachDatabase('consent service', (current, kind) => {
  const clock = createFakeClock({ nowMs: T0 });
  const options = { clock };
  let serverIdentity: Identity;

  beforeAll(async () => {
    serverIdentity = await generateIdentity();
  });

  beforeEach(async () => {
    clock.set(T0);
    const { db } = current();
    await resetConsentTables(db);
    await insertTenant(db, 'acme', ['a1', 'a2']);
    await insertTenant(db, 'globex', ['g1']);
  });

  const publish = (version: number, scopes = ['activity', 'network'], tenantId = 'acme') =>
    publishPolicy(current().db, { tenantId, version, scopes, text: `Policy ${version}` }, options);
  const grant = (
    deviceId = 'a1',
    extra: { scopes?: string[]; policyVersion?: number; expiresAt?: number | string } = {},
  ) =>
    grantConsent(
      current().db,
      { tenantId: 'acme', deviceId, method: 'admin-api', actor: 'admin', ...extra },
      options,
    );
  const withdraw = (deviceId = 'a1', scopes?: string[]) =>
    withdrawConsent(
      current().db,
      {
        tenantId: 'acme',
        deviceId,
        method: 'agent-ui',
        actor: `device:${deviceId}`,
        ...(scopes ? { scopes } : {}),
      },
      options,
    );

  describe('publishPolicy', () => {
    it('moves every device of the tenant, and only it, to pending, with records and one audit row', async () => {
      const { db } = current();
      const published = await publish(1);
      expect(published).toEqual({
        tenantId: 'acme',
        version: 1,
        scopes: ['activity', 'network'],
        publishedAt: new Date(T0).toISOString(),
        textSha256: policyTextSha256('Policy 1'),
        devices: 2,
      });
      expect(await currentConsent(db, 'a1')).toEqual({ status: 'pending', policyVersion: 1 });
      expect(await currentConsent(db, 'a2')).toEqual({ status: 'pending', policyVersion: 1 });
      expect(await currentConsent(db, 'g1')).toEqual({ status: 'unknown' });
      const [row] = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a1' });
      expect(row).toMatchObject({
        event: { type: 'policy_published', version: 1 },
        consent: { status: 'pending', policyVersion: 1 },
        method: 'policy-update',
        actor: 'admin',
        record: {
          state: 'pending',
          method: 'policy-update',
          controller: { name: 'acme' },
          subject: { deviceId: 'a1' },
          policy: { version: 1, textSha256: policyTextSha256('Policy 1') },
          purposes: [
            {
              scope: 'activity',
              purpose: 'Collect activity data for the purposes described in policy v1.',
              legalBasis: 'consent',
            },
            {
              scope: 'network',
              purpose: 'Collect network data for the purposes described in policy v1.',
              legalBasis: 'consent',
            },
          ],
        },
      });
      expect(row?.id).toBe(row?.record.recordId);
      const audit = await listAudit(db);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        tenant: 'acme',
        action: 'consent.policy_published',
        subject: 'policy:v1',
        details: { version: 1, devices: 2, scopes: ['activity', 'network'] },
      });
    });

    it('moves granted devices to pending on a new version', async () => {
      await publish(1);
      await grant('a1');
      clock.advance(1000);
      await publish(2, ['activity']);
      expect(await currentConsent(current().db, 'a1')).toEqual({
        status: 'pending',
        policyVersion: 2,
      });
      expect(await currentConsent(current().db, 'a2')).toEqual({
        status: 'pending',
        policyVersion: 2,
      });
    });

    it('refuses a version that is not above the latest with a conflict', async () => {
      await publish(2);
      expect(await failure(publish(2))).toMatchObject({ code: 'conflict', status: 409 });
      expect(await failure(publish(1))).toMatchObject({ code: 'conflict', status: 409 });
      // Nothing of the refused publications was written.
      expect(
        await listConsentLedger(current().db, { tenantId: 'acme', deviceId: 'a1' }),
      ).toHaveLength(1);
    });

    it('refuses bad input with invalid_request and an unknown tenant with not_found', async () => {
      const { db } = current();
      const bad = [
        { version: 0, scopes: ['activity'], text: 'x' },
        { version: 1, scopes: [], text: 'x' },
        { version: 1, scopes: ['Bad Scope'], text: 'x' },
        { version: 1, scopes: ['activity', 'activity'], text: 'x' },
        { version: 1, scopes: ['activity'], text: '  ' },
        { version: 1, scopes: ['activity'], text: 'x', url: 'ftp://acme.example/p' },
        { version: 1, scopes: ['activity'], text: 'x', url: 'https://localhost/p' },
      ];
      for (const request of bad) {
        expect(
          await failure(publishPolicy(db, { tenantId: 'acme', ...request }, options)),
        ).toMatchObject({
          code: 'invalid_request',
        });
      }
      expect(
        await failure(
          publishPolicy(
            db,
            { tenantId: 'nobody', version: 1, scopes: ['activity'], text: 'x' },
            options,
          ),
        ),
      ).toMatchObject({ code: 'not_found', status: 404 });
    });

    it('uses the controller, purposes and URL it is given', async () => {
      const { db } = current();
      await publishPolicy(
        db,
        {
          tenantId: 'acme',
          version: 3,
          scopes: ['activity'],
          text: 'x',
          url: 'https://acme.example/privacy/v3',
        },
        {
          clock,
          controller: { name: 'Acme GmbH', contact: 'privacy@acme.example' },
          purposes: { activity: 'Time per app' },
        },
      );
      const [row] = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a2' });
      expect(row?.record).toMatchObject({
        controller: { name: 'Acme GmbH', contact: 'privacy@acme.example' },
        policy: { version: 3, url: 'https://acme.example/privacy/v3' },
        purposes: [{ scope: 'activity', purpose: 'Time per app', legalBasis: 'consent' }],
      });
    });

    it("records the policy's own purposes over the configured ones, with the text's hash", async () => {
      const { db } = current();
      const text = 'We record which applications you use, never what is in them.';
      await publishPolicy(
        db,
        {
          tenantId: 'acme',
          version: 1,
          scopes: ['activity', 'network'],
          text,
          summary: 'App time and network volume, kept 90 and 30 days.',
          purposes: {
            activity: {
              purpose: 'See time per application',
              collects: 'App names',
              retentionDays: 90,
            },
            network: { purpose: 'See network volume' },
          },
        },
        { clock, purposes: { activity: 'Configured text that must not win' } },
      );
      const [row] = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a1' });
      expect(row?.record.policy).toEqual({ version: 1, textSha256: policyTextSha256(text) });
      expect(row?.record.purposes).toEqual([
        {
          scope: 'activity',
          purpose: 'See time per application',
          legalBasis: 'consent',
          collects: 'App names',
          retentionDays: 90,
        },
        { scope: 'network', purpose: 'See network volume', legalBasis: 'consent' },
      ]);
      clock.advance(1_000);
      await grant('a1', { scopes: ['activity'] });
      const ledger = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a1' });
      const receipt = await consentReceipt(
        db,
        { tenantId: 'acme', ledgerId: ledger.at(-1)?.id ?? '' },
        serverIdentity,
      );
      expect(receipt.record.purposes).toEqual([
        expect.objectContaining({ scope: 'activity', collects: 'App names', retentionDays: 90 }),
      ]);
      expect(verifyConsentReceipt(receipt, publicKeysOf(serverIdentity).signingPublicKey)).toBe(
        true,
      );
    });

    it('refuses purposes that leave out a scope, add one, or break the format', async () => {
      const base = { tenantId: 'acme', version: 1, scopes: ['activity', 'network'], text: 'x' };
      for (const extra of [
        { purposes: { activity: { purpose: 'a' } } },
        {
          purposes: {
            activity: { purpose: 'a' },
            network: { purpose: 'n' },
            files: { purpose: 'f' },
          },
        },
        { purposes: { activity: { purpose: ' ' }, network: { purpose: 'n' } } },
        { purposes: { activity: { purpose: 'a', retentionDays: 0 }, network: { purpose: 'n' } } },
        { summary: '   ' },
      ]) {
        expect(
          await failure(publishPolicy(current().db, { ...base, ...extra } as never, options)),
        ).toMatchObject({ code: 'invalid_request', status: 400 });
      }
      expect(await currentConsent(current().db, 'a1')).toEqual({ status: 'unknown' });
    });
  });

  describe('grant and withdraw', () => {
    it('keepGranted adds scopes to the grant in force, keeping its expiry', async () => {
      const { db } = current();
      await publish(1, ['activity', 'network', 'files']);
      const expiresAt = T0 + 86_400_000;
      await grantConsent(
        db,
        {
          tenantId: 'acme',
          deviceId: 'a1',
          scopes: ['activity'],
          expiresAt,
          method: 'admin-api',
          actor: 'admin',
        },
        options,
      );
      clock.advance(1_000);
      const added = await grantConsent(
        db,
        {
          tenantId: 'acme',
          deviceId: 'a1',
          scopes: ['network'],
          keepGranted: true,
          method: 'agent-ui',
          actor: 'device-user:a1',
        },
        options,
      );
      expect(added).toMatchObject({
        status: 'granted',
        scopes: ['activity', 'network'],
        expiresAt: new Date(expiresAt).toISOString(),
      });
      // Without keepGranted a grant still replaces the scope set.
      const replaced = await grantConsent(
        db,
        {
          tenantId: 'acme',
          deviceId: 'a1',
          scopes: ['files'],
          method: 'admin-api',
          actor: 'admin',
        },
        options,
      );
      expect(replaced).toMatchObject({ status: 'granted', scopes: ['files'] });
      expect(replaced).not.toHaveProperty('expiresAt');
    });

    it('grant then withdraw: ledger rows in order, snapshots, audit rows that verify', async () => {
      const { db } = current();
      await publish(1);
      clock.advance(60_000);
      const granted = await grant('a1');
      const grantedAt = new Date(T0 + 60_000).toISOString();
      expect(granted).toEqual({
        status: 'granted',
        policyVersion: 1,
        scopes: ['activity', 'network'],
        grantedAt,
      });
      expect(consentSnapshotSchema.parse(granted)).toEqual(granted);
      clock.advance(60_000);
      const withdrawn = await withdraw('a1');
      expect(withdrawn).toEqual({
        status: 'withdrawn',
        policyVersion: 1,
        withdrawnAt: new Date(T0 + 120_000).toISOString(),
      });

      const ledger = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a1' });
      expect(
        ledger.map((row) => [row.event.type, row.consent.status, row.method, row.actor]),
      ).toEqual([
        ['policy_published', 'pending', 'policy-update', 'admin'],
        ['grant', 'granted', 'admin-api', 'admin'],
        ['withdraw', 'withdrawn', 'agent-ui', 'device:a1'],
      ]);
      expect(ledger[0]!.seq).toBeLessThan(ledger[1]!.seq);
      expect(ledger[1]!.seq).toBeLessThan(ledger[2]!.seq);
      expect(ledger[2]?.record).toMatchObject({
        state: 'withdrawn',
        timestamps: { grantedAt, withdrawnAt: new Date(T0 + 120_000).toISOString() },
      });

      const audit = await listAudit(db, { tenantId: 'acme' });
      expect(audit.map((row) => [row.action, row.actor, row.subject])).toEqual([
        ['consent.policy_published', 'admin', 'policy:v1'],
        ['consent.granted', 'admin', 'device:a1'],
        ['consent.withdrawn', 'device:a1', 'device:a1'],
      ]);
      expect(audit[1]?.details).toMatchObject({
        ledgerId: ledger[1]?.id,
        method: 'admin-api',
        consent: granted,
      });
      expect(await verifyAuditLog(db)).toMatchObject({
        ok: true,
        checked: 3,
        firstBrokenSeq: null,
      });
    });

    it('defaults to the policy scopes and latest version; takes a subset, an expiry, a partial withdrawal', async () => {
      await publish(1);
      await publish(2, ['activity', 'network', 'operational']);
      const expiresAt = new Date(T0 + 3_600_000).toISOString();
      expect(await grant('a1', { scopes: ['network', 'activity'], expiresAt })).toEqual({
        status: 'granted',
        policyVersion: 2,
        scopes: ['activity', 'network'],
        grantedAt: new Date(T0).toISOString(),
        expiresAt,
      });
      clock.advance(10);
      expect(await withdraw('a1', ['network'])).toMatchObject({
        status: 'granted',
        scopes: ['activity'],
      });
      expect(await grant('a2')).toMatchObject({ scopes: ['activity', 'network', 'operational'] });
    });

    it('answers an illegal transition with 409 and the consent code', async () => {
      expect(await failure(grant('a1'))).toEqual({
        code: 'conflict',
        status: 409,
        detailsCode: 'no_policy',
      });
      expect(await failure(withdraw('a1'))).toEqual({
        code: 'conflict',
        status: 409,
        detailsCode: 'no_policy',
      });
      await publish(1);
      await publish(2);
      expect(await failure(grant('a1', { policyVersion: 1 }))).toEqual({
        code: 'conflict',
        status: 409,
        detailsCode: 'policy_version_mismatch',
      });
      expect(await failure(grant('a1', { policyVersion: 7 }))).toMatchObject({
        detailsCode: 'policy_version_mismatch',
      });
      expect(await failure(withdraw('a1', ['activity']))).toMatchObject({
        detailsCode: 'not_granted',
      });
      await withdraw('a1');
      expect(await failure(withdraw('a1'))).toMatchObject({
        code: 'conflict',
        detailsCode: 'already_withdrawn',
      });
      await grant('a2', { scopes: ['activity'] });
      expect(await failure(withdraw('a2', ['network']))).toMatchObject({
        detailsCode: 'scope_not_granted',
      });
      // Refused changes leave no trace.
      expect(
        await listConsentLedger(current().db, { tenantId: 'acme', deviceId: 'a1' }),
      ).toHaveLength(3);
    });

    it('refuses scopes outside the policy, empty scopes and bad expiries with invalid_request', async () => {
      await publish(1, ['activity']);
      expect(await failure(grant('a1', { scopes: ['network'] }))).toMatchObject({
        code: 'invalid_request',
        status: 400,
      });
      expect(await failure(grant('a1', { scopes: [] }))).toMatchObject({ code: 'invalid_request' });
      expect(await failure(grant('a1', { expiresAt: 'tomorrow' }))).toMatchObject({
        code: 'invalid_request',
      });
      expect(await failure(grant('a1', { expiresAt: T0 - 1 }))).toMatchObject({
        code: 'invalid_request',
      });
      expect(await failure(grant('a1', { policyVersion: 0 }))).toMatchObject({
        code: 'invalid_request',
      });
      expect(await failure(withdraw('a1', []))).toMatchObject({ code: 'invalid_request' });
    });

    it('keeps tenants apart: another tenant, or no such device, is not_found', async () => {
      const { db } = current();
      await publish(1);
      await publish(1, ['activity'], 'globex');
      const asGlobex = {
        tenantId: 'globex',
        deviceId: 'a1',
        method: 'admin-api',
        actor: 'admin',
      } as const;
      expect(await failure(grantConsent(db, asGlobex, options))).toMatchObject({
        code: 'not_found',
        status: 404,
      });
      expect(await failure(withdrawConsent(db, asGlobex, options))).toMatchObject({
        code: 'not_found',
      });
      expect(await failure(grant('nope'))).toMatchObject({ code: 'not_found' });
      expect(await failure(grant('g1'))).toMatchObject({ code: 'not_found' });
      expect(await currentConsent(db, 'a1')).toEqual({ status: 'pending', policyVersion: 1 });
      expect(await listConsentLedger(db, { tenantId: 'globex', deviceId: 'a1' })).toEqual([]);
    });

    it('rolls the ledger row back when the audit step fails', async () => {
      await publish(1);
      const failingAudit = async () => {
        throw new Error('audit store down');
      };
      const attempt = grantConsent(
        current().db,
        { tenantId: 'acme', deviceId: 'a1', method: 'admin-api', actor: 'admin' },
        { clock, audit: failingAudit },
      );
      await expect(attempt).rejects.toThrow('audit store down');
      expect(await currentConsent(current().db, 'a1')).toEqual({
        status: 'pending',
        policyVersion: 1,
      });
    });

    it('joins the caller transaction', async () => {
      const { db } = current();
      await publish(1);
      await db
        .transaction()
        .execute(async (trx) => {
          await grantConsent(
            trx,
            { tenantId: 'acme', deviceId: 'a1', method: 'admin-api', actor: 'admin' },
            options,
          );
          throw new Error('caller aborts');
        })
        .catch(() => undefined);
      expect(await currentConsent(db, 'a1')).toEqual({ status: 'pending', policyVersion: 1 });
      expect((await listAudit(db)).map((row) => row.action)).toEqual(['consent.policy_published']);
    });

    it('puts a device enrolled after the publication under the latest policy first', async () => {
      const { db } = current();
      await publish(1);
      await db
        .insertInto('devices')
        .values({
          id: 'a3',
          tenant_id: 'acme',
          hostname: 'a3',
          os: 'linux',
          arch: 'x64',
          signing_public_key: 'k',
          encryption_public_key: 'k',
          drops: '{}',
        })
        .execute();
      expect(await currentConsent(db, 'a3')).toEqual({ status: 'unknown' });
      expect(await grant('a3')).toMatchObject({ status: 'granted', policyVersion: 1 });
      const ledger = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a3' });
      expect(ledger.map((row) => row.event.type)).toEqual(['policy_published', 'grant']);
      expect((await listAudit(db)).map((row) => row.action)).toEqual([
        'consent.policy_published',
        'consent.policy_applied',
        'consent.granted',
      ]);
    });

    it('initializeConsent starts a new device on the latest policy, once', async () => {
      const { db } = current();
      expect(await initializeConsent(db, { tenantId: 'acme', deviceId: 'a1' }, options)).toEqual({
        status: 'unknown',
      });
      await publishPolicy(
        db,
        { tenantId: 'globex', version: 4, scopes: ['activity'], text: 'x' },
        options,
      );
      await db
        .insertInto('devices')
        .values({
          id: 'g2',
          tenant_id: 'globex',
          hostname: 'g2',
          os: 'linux',
          arch: 'x64',
          signing_public_key: 'k',
          encryption_public_key: 'k',
          drops: '{}',
        })
        .execute();
      const first = await initializeConsent(db, { tenantId: 'globex', deviceId: 'g2' }, options);
      const again = await initializeConsent(db, { tenantId: 'globex', deviceId: 'g2' }, options);
      expect(first).toEqual({ status: 'pending', policyVersion: 4 });
      expect(again).toEqual(first);
      expect(await listConsentLedger(db, { tenantId: 'globex', deviceId: 'g2' })).toHaveLength(1);
      expect(
        await failure(initializeConsent(db, { tenantId: 'acme', deviceId: 'g2' }, options)),
      ).toMatchObject({
        code: 'not_found',
      });
    });

    it(`serializes concurrent changes of one device and a publication [${kind}]`, async () => {
      const { db } = current();
      await publish(1);
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 6 }, () => grant('a1')),
        ...Array.from({ length: 3 }, () => withdraw('a1')),
        publish(2),
        ...Array.from({ length: 6 }, () => grant('a2')),
      ]);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          // Only legal-order refusals, never a database error.
          expect(isHttpError(outcome.reason) && outcome.reason.code).toBe('conflict');
        }
      }
      for (const deviceId of ['a1', 'a2']) {
        const ledger = await listConsentLedger(db, { tenantId: 'acme', deviceId });
        const states: ConsentSnapshot[] = ledger.map((row) => row.consent);
        expect((await currentConsent(db, deviceId)).status).toBe(states.at(-1)?.status);
        // Each row follows from the one before: once v2 is recorded, no grant of v1 follows.
        const firstV2 = states.findIndex((s) => s.status !== 'unknown' && s.policyVersion === 2);
        expect(firstV2).toBeGreaterThan(0);
        for (const s of states.slice(firstV2))
          expect(s.status !== 'unknown' && s.policyVersion).toBe(2);
      }
      expect((await verifyAuditLog(db)).ok).toBe(true);
    });
  });

  describe('consentHistory', () => {
    it('answers with the state in force at each instant', async () => {
      const { db } = current();
      await publish(1);
      clock.set(T0 + 1000);
      await grant('a1', { scopes: ['activity'] });
      clock.set(T0 + 5000);
      await withdraw('a1');
      clock.set(T0 + 9000);
      await grant('a1', { scopes: ['activity', 'network'], expiresAt: T0 + 12_000 });
      clock.set(T0 + 20_000);
      await publish(2);

      const history = await consentHistory(db, 'a1');
      const at = (ms: number, scope = 'activity') => history.canCollectAt(scope, T0 + ms);
      expect(at(-1)).toBe(false); // before any row: unknown
      expect(at(500)).toBe(false); // pending
      expect(at(999)).toBe(false); // before the grant
      expect(at(1000)).toBe(true);
      expect(at(4999)).toBe(true);
      expect(at(3000, 'network')).toBe(false); // not granted
      expect(at(5000)).toBe(false); // withdrawn
      expect(at(8999)).toBe(false);
      expect(at(9000, 'network')).toBe(true);
      expect(at(11_999)).toBe(true);
      expect(at(12_000)).toBe(false); // expired, even with no expire row
      expect(at(25_000)).toBe(false); // pending on v2
      for (const ms of [-1, 500, 3000, 6000, 12_000, 25_000])
        expect(at(ms, 'operational')).toBe(true);
      expect(history.canCollectAt('activity', Number.NaN)).toBe(false);
      expect(history.stateAt(T0 + 6000)).toEqual({
        status: 'withdrawn',
        policyVersion: 1,
        withdrawnAt: T0 + 5000,
      });

      const none = await consentHistory(db, 'g1');
      expect(none.canCollectAt('activity', T0)).toBe(false);
      expect(none.canCollectAt('operational', T0)).toBe(true);
    });
  });

  describe('receipts', () => {
    it('signs a ledger row that verifies with the server key, and fails after tampering', async () => {
      const { db } = current();
      await publish(1);
      await grant('a1');
      const ledger = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a1' });
      const ledgerId = ledger[1]!.id;
      const receipt = await consentReceipt(db, { tenantId: 'acme', ledgerId }, serverIdentity);
      expect(receipt.record).toEqual(ledger[1]?.record);
      expect(receipt.signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
      const key = publicKeysOf(serverIdentity).signingPublicKey;
      expect(verifyConsentReceipt(receipt, key)).toBe(true);
      expect(verifyConsentReceipt(receipt, serverIdentity.signingPublicKey)).toBe(true);
      // The same record with keys in another order still verifies: the signature is over canonical bytes.
      const reordered = JSON.parse(
        JSON.stringify({ signature: receipt.signature, record: receipt.record }),
      );
      expect(verifyConsentReceipt(reordered, key)).toBe(true);

      const tampered = {
        ...receipt,
        record: { ...receipt.record, purposes: receipt.record.purposes.slice(0, 1) },
      };
      expect(verifyConsentReceipt(tampered, key)).toBe(false);
      const otherDevice = {
        ...receipt,
        record: { ...receipt.record, subject: { deviceId: 'a2' } },
      };
      expect(verifyConsentReceipt(otherDevice, key)).toBe(false);
      const flipped = `${receipt.signature.slice(0, 10)}${receipt.signature[10] === 'A' ? 'B' : 'A'}${receipt.signature.slice(11)}`;
      expect(verifyConsentReceipt({ ...receipt, signature: flipped }, key)).toBe(false);
      const stranger = await generateIdentity();
      expect(verifyConsentReceipt(receipt, stranger.signingPublicKey)).toBe(false);
      expect(verifyConsentReceipt({ record: { nope: 1 }, signature: receipt.signature }, key)).toBe(
        false,
      );
      expect(verifyConsentReceipt({ record: receipt.record, signature: 42 }, key)).toBe(false);
      expect(verifyConsentReceipt({ record: receipt.record, signature: '!!' }, key)).toBe(false);
      expect(verifyConsentReceipt(receipt, 'not a key')).toBe(false);
    });

    it('is not_found for an unknown id or another tenant', async () => {
      const { db } = current();
      await publish(1);
      const [row] = await listConsentLedger(db, { tenantId: 'acme', deviceId: 'a1' });
      expect(
        await failure(
          consentReceipt(db, { tenantId: 'globex', ledgerId: row!.id }, serverIdentity),
        ),
      ).toMatchObject({
        code: 'not_found',
      });
      expect(
        await failure(consentReceipt(db, { tenantId: 'acme', ledgerId: 'nope' }, serverIdentity)),
      ).toMatchObject({
        code: 'not_found',
      });
    });
  });
});
