import { auditEntrySchema, auditVerifyResponseSchema } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { sql } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import {
  AUDIT_GENESIS_HASH,
  appendAudit,
  computeAuditHash,
  listAudit,
  verifyAuditLog,
} from '../../src/audit/index.js';
import { isHttpError } from '../../src/http/http-error.js';
import { describeEachDatabase } from '../support/test-databases.js';

describeEachDatabase('audit log', (current) => {
  const clock = createFakeClock({ nowMs: Date.parse('2026-11-21T10:00:00.000Z') });

  // This suite plays the database administrator who switched the append-only guard off
  // (audit-guard.test.ts shows the guard itself): the chain must still show every edit.
  beforeEach(async () => {
    await sql`alter table audit_log disable trigger user`.execute(current().db);
    await sql`truncate audit_log restart identity`.execute(current().db);
  });

  async function appendMany(count: number, tenantId: string | null = 'acme'): Promise<void> {
    for (let i = 0; i < count; i++) {
      clock.advance(1000);
      await appendAudit(
        current().db,
        {
          tenantId,
          actor: 'admin',
          action: 'test.step',
          subject: `device:d${i}`,
          details: { i, nested: { b: [1, 'two', null], a: true } },
        },
        { clock },
      );
    }
  }

  it('appends linked rows and lists them in the protocol shape', async () => {
    const { db } = current();
    const first = await appendAudit(
      db,
      {
        tenantId: 'acme',
        actor: 'admin',
        action: 'consent.granted',
        subject: 'device:d1',
        details: { z: 1, a: 2 },
      },
      { clock },
    );
    clock.advance(5);
    const second = await appendAudit(
      db,
      { tenantId: null, actor: 'system', action: 'server.started', subject: null, details: {} },
      { clock },
    );
    expect(first.prevHash).toBe(AUDIT_GENESIS_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(computeAuditHash({ ...first, details: { a: 2, z: 1 } })).toBe(first.hash);

    const all = await listAudit(db, {});
    expect(all).toEqual([first, second]);
    for (const entry of all) expect(auditEntrySchema.parse(entry)).toEqual(entry);
    expect(await listAudit(db, { tenantId: 'acme' })).toEqual([first]);
    expect(await listAudit(db, { tenantId: 'other' })).toEqual([]);
    expect(await listAudit(db, { afterSeq: first.seq })).toEqual([second]);
    expect(await listAudit(db, { limit: 1 })).toEqual([first]);
  });

  it('rejects a bad page size or cursor with invalid_request', async () => {
    for (const options of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { afterSeq: -1 }]) {
      const error = await listAudit(current().db, options).catch((e: unknown) => e);
      expect(isHttpError(error) && error.code).toBe('invalid_request');
    }
  });

  it('commits with the caller transaction, and rolls back with it', async () => {
    const { db } = current();
    await db
      .transaction()
      .execute(async (trx) => {
        await appendAudit(
          trx,
          { tenantId: 'acme', actor: 'admin', action: 'x', subject: null, details: {} },
          { clock },
        );
        throw new Error('abort');
      })
      .catch(() => undefined);
    expect(await listAudit(db)).toEqual([]);
    await db.transaction().execute(async (trx) => {
      await appendAudit(
        trx,
        { tenantId: 'acme', actor: 'admin', action: 'y', subject: null, details: {} },
        { clock },
      );
    });
    const rows = await listAudit(db);
    expect(rows.map((r) => r.action)).toEqual(['y']);
    // The rolled-back append burnt a seq; the chain does not care.
    expect(rows[0]?.prevHash).toBe(AUDIT_GENESIS_HASH);
    expect(await verifyAuditLog(db)).toMatchObject({ ok: true, checked: 1, firstBrokenSeq: null });
  });

  it('keeps one chain under 20 concurrent appends', async () => {
    const { db } = current();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendAudit(
          db,
          {
            tenantId: 'acme',
            actor: `device:d${i}`,
            action: 'event.rejected',
            subject: null,
            details: { i },
          },
          { clock },
        ),
      ),
    );
    const rows = await listAudit(db, { limit: 1000 });
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.prevHash)).size).toBe(20);
    rows.forEach((row, i) => {
      expect(row.prevHash).toBe(i === 0 ? AUDIT_GENESIS_HASH : rows[i - 1]?.hash);
    });
    expect(await verifyAuditLog(db)).toMatchObject({ ok: true, checked: 20, firstBrokenSeq: null });
  });

  it('verifies an untouched log across pages', async () => {
    await appendMany(7);
    const result = await verifyAuditLog(current().db, { pageSize: 3 });
    expect(auditVerifyResponseSchema.parse(result)).toMatchObject({
      ok: true,
      checked: 7,
      firstBrokenSeq: null,
    });
    expect(await verifyAuditLog(current().db, { pageSize: 7 })).toMatchObject(result);
    expect(await verifyAuditLog(current().db)).toMatchObject(result);
  });

  it('verifies an empty log', async () => {
    expect(await verifyAuditLog(current().db)).toMatchObject({
      ok: true,
      checked: 0,
      firstBrokenSeq: null,
    });
  });

  it('finds an edited details field', async () => {
    await appendMany(6);
    await sql`update audit_log set details = jsonb_set(details, '{i}', '99') where seq = 4`.execute(
      current().db,
    );
    expect(await verifyAuditLog(current().db, { pageSize: 2 })).toMatchObject({
      ok: false,
      checked: 4,
      firstBrokenSeq: 4,
    });
  });

  it('finds an edited time, actor or tenant', async () => {
    await appendMany(5);
    const { db } = current();
    await sql`update audit_log set at = at + interval '1 millisecond' where seq = 2`.execute(db);
    expect((await verifyAuditLog(db)).firstBrokenSeq).toBe(2);
    await sql`update audit_log set at = at - interval '1 millisecond' where seq = 2`.execute(db);
    await sql`update audit_log set actor = 'system' where seq = 3`.execute(db);
    expect((await verifyAuditLog(db)).firstBrokenSeq).toBe(3);
    await sql`update audit_log set actor = 'admin' where seq = 3`.execute(db);
    expect((await verifyAuditLog(db)).ok).toBe(true);
    await sql`update audit_log set tenant_id = null where seq = 5`.execute(db);
    expect((await verifyAuditLog(db)).firstBrokenSeq).toBe(5);
  });

  it('finds a deleted middle row at the row after it', async () => {
    await appendMany(6);
    await sql`delete from audit_log where seq = 3`.execute(current().db);
    expect(await verifyAuditLog(current().db)).toMatchObject({
      ok: false,
      checked: 3,
      firstBrokenSeq: 4,
    });
  });

  it('finds a deleted first row', async () => {
    await appendMany(3);
    await sql`delete from audit_log where seq = 1`.execute(current().db);
    expect(await verifyAuditLog(current().db)).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it('finds an edit covered by a recomputed hash at the next link', async () => {
    await appendMany(5);
    const { db } = current();
    const [row] = await listAudit(db, { afterSeq: 2, limit: 1 });
    if (row === undefined) throw new Error('row 3 missing');
    const forged = computeAuditHash({ ...row, details: { ...row.details, i: 1234 } });
    await sql`update audit_log set details = jsonb_set(details, '{i}', '1234'), hash = ${forged} where seq = 3`.execute(
      db,
    );
    expect(await verifyAuditLog(db)).toMatchObject({ ok: false, checked: 4, firstBrokenSeq: 4 });
  });

  it('finds two rows swapped', async () => {
    await appendMany(5);
    const { db } = current();
    await sql`
      update audit_log a set at = b.at, tenant_id = b.tenant_id, actor = b.actor, action = b.action,
        subject = b.subject, details = b.details, prev_hash = b.prev_hash, hash = b.hash
      from audit_log b where (a.seq, b.seq) in ((2, 3), (3, 2))`.execute(db);
    expect(await verifyAuditLog(db)).toMatchObject({ ok: false, checked: 2, firstBrokenSeq: 2 });
  });

  it('finds details rewritten into non-canonical JSON data', async () => {
    await appendMany(2);
    await sql`update audit_log set details = '{"i": 1e400}'::jsonb where seq = 2`.execute(
      current().db,
    );
    expect(await verifyAuditLog(current().db)).toMatchObject({
      ok: false,
      checked: 2,
      firstBrokenSeq: 2,
    });
  });
});
