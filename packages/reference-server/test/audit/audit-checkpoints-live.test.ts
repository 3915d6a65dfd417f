// While the server runs: the head is checkpointed on the interval, and a truncation made by the
// database's owner between two ticks is reported at once and never signed over.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { captureLogger } from '../support/capture-logger.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('audit checkpoints of a running server', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let server: RunningServer;
  const logs = captureLogger('info');

  beforeAll(async () => {
    dir = await makeTempDir();
    server = await startServer({
      port: 0,
      dataDir: dir.path,
      logger: logs.logger,
      auditCheckpointIntervalMs: 100,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await dir?.remove();
  });

  async function admin(method: string, path: string, body?: unknown) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, read only by assertions.
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  async function checkpointSeqs(): Promise<number[]> {
    const text = await readFile(join(dir.path, 'audit-checkpoints.jsonl'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { seq: number }).seq);
  }

  it('anchors new rows within an interval, and reports rows deleted behind the anchor', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await admin('POST', '/v1/admin/install-tokens', { tenant: 'acme' })).status).toBe(
        201,
      );
    }
    const head = (await admin('GET', '/v1/admin/audit/verify')).body.head as { seq: number };
    await expect
      .poll(async () => (await checkpointSeqs()).at(-1), { timeout: 10_000 })
      .toBe(head.seq);
    expect((await admin('GET', '/v1/admin/audit/verify')).body).toMatchObject({
      ok: true,
      truncated: false,
      checkpoint: { seq: head.seq },
    });

    // The database's owner removes the newest row; the server keeps running and appending.
    const { db } = server.app.context;
    await sql`alter table audit_log disable trigger user`.execute(db);
    await sql`delete from audit_log where seq = ${head.seq}`.execute(db);
    await sql`alter table audit_log enable trigger user`.execute(db);
    expect((await admin('POST', '/v1/admin/install-tokens', { tenant: 'acme' })).status).toBe(201);

    expect((await admin('GET', '/v1/admin/audit/verify')).body).toMatchObject({
      ok: false,
      truncated: true,
      head: { seq: head.seq + 1 },
      checkpoint: { seq: head.seq },
    });
    await expect
      .poll(
        () =>
          logs
            .records()
            .some(
              (record) => record.level === 50 && /audit log truncated/.test(String(record.msg)),
            ),
        {
          timeout: 10_000,
        },
      )
      .toBe(true);
    expect((await checkpointSeqs()).at(-1)).toBe(head.seq);
  });
});
