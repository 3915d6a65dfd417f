// The audit log is append-only in the database (migration 0005), and signed checkpoints kept
// outside it catch the one thing a valid chain cannot show: rows removed from its end.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditVerifyResponseSchema, generateIdentity, type Identity } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  appendAudit,
  createAuditCheckpointer,
  createFileCheckpointSink,
  createMemoryCheckpointSink,
  parseAuditCheckpoint,
  verifyAuditLog,
} from '../../src/audit/index.js';
import { describeEachDatabase } from '../support/test-databases.js';

describeEachDatabase('audit log guard and checkpoints', (current) => {
  const clock = createFakeClock({ nowMs: Date.parse('2026-12-01T10:00:00.000Z') });
  let identity: Identity;
  let dir: string;

  beforeAll(async () => {
    identity = await generateIdentity();
    dir = await mkdtemp(join(tmpdir(), 'fl-audit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  // Each test starts from an empty log: only the database admin's way (guard off) empties it.
  beforeEach(async () => {
    await asDatabaseAdmin(sql`truncate audit_log restart identity`);
  });

  async function asDatabaseAdmin(statement: ReturnType<typeof sql>): Promise<void> {
    const { db } = current();
    await sql`alter table audit_log disable trigger user`.execute(db);
    try {
      await statement.execute(db);
    } finally {
      await sql`alter table audit_log enable trigger user`.execute(db);
    }
  }

  async function appendMany(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      clock.advance(1000);
      await appendAudit(
        current().db,
        { tenantId: 'acme', actor: 'admin', action: 'test.step', subject: null, details: { i } },
        { clock },
      );
    }
  }

  async function refusal(statement: ReturnType<typeof sql>): Promise<unknown> {
    return statement.execute(current().db).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it('refuses UPDATE, DELETE and TRUNCATE on audit_log, whoever sends them', async () => {
    await appendMany(3);
    for (const statement of [
      sql`update audit_log set actor = 'someone else' where seq = 2`,
      sql`update audit_log set details = '{}'::jsonb`,
      sql`delete from audit_log where seq = 3`,
      sql`delete from audit_log`,
      sql`truncate audit_log`,
    ]) {
      const error = (await refusal(statement)) as { code?: string; message?: string } | undefined;
      expect(error?.code).toBe('42501');
      expect(error?.message).toMatch(/audit_log is append-only: (UPDATE|DELETE|TRUNCATE) refused/);
    }
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(
      current().db,
    );
    expect(rows[0]?.n).toBe(3);
    expect(await verifyAuditLog(current().db)).toMatchObject({ ok: true, checked: 3 });
  });

  it('reports truncated when a database admin removes the newest rows behind a checkpoint', async () => {
    const sink = createMemoryCheckpointSink();
    const checkpointer = createAuditCheckpointer({ db: current().db, sink, identity, clock });
    await appendMany(5);
    const taken = await checkpointer.checkpoint();
    expect(taken).toMatchObject({ status: 'written', checkpoint: { seq: 5 } });
    expect(await checkpointer.checkpoint()).toMatchObject({ status: 'unchanged' });
    const before = await checkpointer.latest();
    expect(before.error).toBeNull();
    expect(await verifyAuditLog(current().db, { checkpoint: before.checkpoint })).toMatchObject({
      ok: true,
      truncated: false,
      head: { seq: 5 },
      checkpoint: { seq: 5 },
    });

    // Without the checkpoint the shortened chain looks perfect: that was the hole.
    await asDatabaseAdmin(sql`delete from audit_log where seq >= 4`);
    expect(await verifyAuditLog(current().db)).toMatchObject({ ok: true, checked: 3 });
    const state = await checkpointer.latest();
    const result = await verifyAuditLog(current().db, {
      checkpoint: state.checkpoint,
      checkpointError: state.error,
    });
    expect(auditVerifyResponseSchema.parse(result)).toMatchObject({
      ok: false,
      truncated: true,
      firstBrokenSeq: null,
      head: { seq: 3 },
      checkpoint: { seq: 5 },
      checkpointError: null,
    });

    // New rows appended after the truncation neither hide it nor get signed over it.
    await appendMany(3);
    const diverged = await checkpointer.checkpoint();
    expect(diverged).toMatchObject({
      status: 'diverged',
      checkpoint: { seq: 5 },
      head: { seq: 8 },
    });
    expect(sink.checkpoints).toHaveLength(1);
    expect(
      await verifyAuditLog(current().db, { checkpoint: (await checkpointer.latest()).checkpoint }),
    ).toMatchObject({ ok: false, truncated: true, head: { seq: 8 } });
  });

  it('reports truncated when the checkpointed row was rewritten with a recomputed chain', async () => {
    const sink = createMemoryCheckpointSink();
    const checkpointer = createAuditCheckpointer({ db: current().db, sink, identity, clock });
    await appendMany(3);
    await checkpointer.checkpoint();
    // Re-hashing every row keeps the links valid; only the anchored hash tells.
    await asDatabaseAdmin(sql`truncate audit_log restart identity`);
    await appendMany(3);
    expect(await verifyAuditLog(current().db)).toMatchObject({ ok: true, checked: 3 });
    expect(
      await verifyAuditLog(current().db, { checkpoint: (await checkpointer.latest()).checkpoint }),
    ).toMatchObject({ ok: false, truncated: true });
  });

  it('keeps checkpoints in an append-only file that survives a restart and flags a rolled-back file', async () => {
    const path = join(dir, `checkpoints-${Date.now()}.jsonl`);
    const first = createAuditCheckpointer({
      db: current().db,
      sink: createFileCheckpointSink({ path }),
      identity,
      clock,
    });
    await appendMany(2);
    await first.checkpoint();
    await appendMany(2);
    await first.stop(); // the shutdown checkpoint
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).seq)).toEqual([2, 4]);
    expect(
      parseAuditCheckpoint(JSON.parse(lines[1] as string), [identity.signingPublicKey]),
    ).toMatchObject({ ok: true });

    // A torn last write (no newline) is skipped; the previous checkpoint still counts.
    await writeFile(path, `${lines.join('\n')}\n{"v":1,"seq":9`);
    const restarted = createAuditCheckpointer({
      db: current().db,
      sink: createFileCheckpointSink({ path }),
      identity,
      clock,
    });
    expect(await restarted.latest()).toMatchObject({ checkpoint: { seq: 4 }, error: null });

    // A forged line (another key) does not count, and the store is reported untrustworthy.
    const stranger = await generateIdentity();
    const forger = createAuditCheckpointer({
      db: current().db,
      sink: createMemoryCheckpointSink(),
      identity: stranger,
      clock,
    });
    const forged = await forger.checkpoint();
    if (forged.status !== 'written') throw new Error('expected a checkpoint');
    await writeFile(path, `${lines.join('\n')}\n${JSON.stringify(forged.checkpoint)}\n`);
    const state = await restarted.latest();
    expect(state.error).toMatch(/does not trust/);
    await expect(restarted.checkpoint()).rejects.toThrow(/Audit checkpoint refused/);
    expect(
      await verifyAuditLog(current().db, {
        checkpoint: state.checkpoint,
        checkpointError: state.error,
      }),
    ).toMatchObject({ ok: false, truncated: false });

    // A file rolled back to an older line while this process knows a newer checkpoint.
    await writeFile(path, `${lines.join('\n')}\n`);
    const live = createAuditCheckpointer({
      db: current().db,
      sink: createFileCheckpointSink({ path }),
      identity,
      clock,
    });
    await appendMany(1);
    expect(await live.checkpoint()).toMatchObject({ status: 'written', checkpoint: { seq: 5 } });
    await writeFile(path, `${lines[0]}\n`);
    expect((await live.latest()).error).toMatch(/lost checkpoints/);
  });
});
