// The audit log against a database administrator, from outside: the built CLI serves real HTTP,
// every security-relevant admin action leaves its row, the table refuses changes, and rows
// removed from its end (guard switched off, as only the table's owner can) are reported as
// `truncated` against the signed checkpoint the server wrote to its data directory on shutdown.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdentity, publicKeysOf, verify } from '@fieldline/core';
import { createDatabase, type FieldlineDb } from '@fieldline/server-sdk';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ADMIN = 'audit-tamper-operator-token-0123456789';
const url = process.env.TEST_DATABASE_URL;

interface Served {
  readonly child: ChildProcess;
  url: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

async function serve(dataDir: string, databaseUrl: string | undefined): Promise<Served> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'info',
    FIELDLINE_ADMIN_TOKEN: ADMIN,
  };
  delete env.DATABASE_URL;
  if (databaseUrl !== undefined) env.DATABASE_URL = databaseUrl;
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const served: { child: ChildProcess; url: string; stderr: string; exit: Promise<number | null> } =
    {
      child,
      url: '',
      stderr: '',
      exit: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
    };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    served.stderr += chunk.toString('utf8');
  });
  await expect
    .poll(() => stdout, { timeout: 45_000, interval: 100 })
    .toMatch(/Press Ctrl\+C to stop/);
  const listening = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
  if (listening === undefined) throw new Error(`no URL in: ${stdout}`);
  served.url = listening;
  return served;
}

async function stop(served: Served): Promise<void> {
  served.child.kill('SIGTERM');
  expect(await served.exit).toBe(0);
}

async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token = ADMIN,
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, read only by assertions.
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

function withSchema(connectionString: string, schema: string): string {
  const parsed = new URL(connectionString);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

const kinds: Array<'pglite' | 'postgres'> = url ? ['pglite', 'postgres'] : ['pglite'];

describe.skipIf(!existsSync(CLI))('audit log tamper evidence (built CLI)', () => {
  for (const kind of kinds) {
    describe(kind, () => {
      const schema = `fl_audit_e2e_${randomBytes(5).toString('hex')}`;
      let dir: Awaited<ReturnType<typeof makeTempDir>>;
      let admin: FieldlineDb | undefined;
      const databaseUrl = kind === 'postgres' ? withSchema(url as string, schema) : undefined;

      // The database administrator's own session, beside the server.
      async function adminSession(): Promise<FieldlineDb> {
        return kind === 'postgres'
          ? createDatabase({ connectionString: databaseUrl as string, maxConnections: 1 })
          : createDatabase({ dataDir: join(dir.path, 'db') });
      }

      beforeAll(async () => {
        dir = await makeTempDir();
        if (kind === 'postgres') {
          const root = await createDatabase({ connectionString: url as string, maxConnections: 1 });
          await sql`create schema ${sql.id(schema)}`.execute(root.db);
          await root.close();
        }
      });
      afterAll(async () => {
        await admin?.close();
        if (kind === 'postgres') {
          const root = await createDatabase({ connectionString: url as string, maxConnections: 1 });
          await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(root.db);
          await root.close();
        }
        await dir?.remove();
      });

      it('records every security-relevant admin action with its actor and target', async () => {
        const server = await serve(dir.path, databaseUrl);
        try {
          const base = server.url;
          const install = await api(base, 'POST', '/v1/admin/install-tokens', { tenant: 'acme' });
          expect(install.status).toBe(201);
          const identity = await generateIdentity();
          const enrolled = await fetch(`${base}/v1/enroll`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${install.body.token}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify({
              hostname: 'audit-01',
              os: 'linux',
              arch: 'x64',
              publicKeys: publicKeysOf(identity),
            }),
          });
          expect(enrolled.status).toBe(201);
          const deviceId = ((await enrolled.json()) as { deviceId: string }).deviceId;
          const steps = [
            await api(base, 'PUT', '/v1/admin/config', {
              tenant: 'acme',
              config: { heartbeatIntervalMs: 30_000 },
            }),
            await api(base, 'POST', '/v1/admin/policies', {
              tenant: 'acme',
              version: 1,
              scopes: ['activity'],
              text: 'App activity.',
            }),
            await api(base, 'POST', `/v1/admin/devices/${deviceId}/consent`, {
              action: 'grant',
              scopes: ['activity'],
            }),
            await api(base, 'POST', `/v1/admin/devices/${deviceId}/consent`, {
              action: 'withdraw',
            }),
            await api(base, 'POST', `/v1/admin/devices/${deviceId}/commands`, { type: 'ping' }),
            await api(base, 'POST', '/v1/admin/commands/broadcast', {
              tenant: 'acme',
              type: 'ping',
            }),
          ];
          expect(steps.map((step) => step.status)).toEqual([200, 201, 200, 200, 201, 200]);

          const audit = await api(base, 'GET', '/v1/admin/audit?limit=1000');
          const entries = audit.body.entries as Array<{
            actor: string;
            action: string;
            subject: string | null;
            tenant: string | null;
            details: Record<string, unknown>;
          }>;
          const byAdmin = entries
            .filter((entry) => entry.actor === 'admin')
            .map((entry) => [entry.action, entry.subject]);
          expect(byAdmin).toEqual([
            ['install_token.issued', expect.stringMatching(/^install_token:/)],
            ['config.changed', 'tenant:acme'],
            ['consent.policy_published', 'policy:v1'],
            ['consent.granted', `device:${deviceId}`],
            ['consent.withdrawn', `device:${deviceId}`],
            ['command.created', `device:${deviceId}`],
            ['command.broadcast', 'tenant:acme'],
          ]);
          const enrollment = entries.find((entry) => entry.action === 'device.enrolled');
          expect(enrollment).toMatchObject({
            tenant: 'acme',
            actor: expect.stringMatching(/^install_token:/),
            subject: `device:${deviceId}`,
            details: {
              hostname: 'audit-01',
              signingPublicKey: publicKeysOf(identity).signingPublicKey,
            },
          });
          // The token that enrolled the device is the one the admin issued.
          const issued = entries.find(
            (entry) => entry.action === 'install_token.issued' && entry.actor === 'admin',
          );
          expect(enrollment?.actor).toBe(issued?.subject);
          // No secret reaches the log.
          expect(JSON.stringify(entries)).not.toContain(install.body.token);

          const verified = await api(base, 'GET', '/v1/admin/audit/verify');
          expect(verified.body).toMatchObject({
            ok: true,
            truncated: false,
            checkpointError: null,
          });
        } finally {
          await stop(server);
        }
      });

      it('refuses changes to audit rows, and reports rows removed behind the shutdown checkpoint as truncated', async () => {
        const file = join(dir.path, 'audit-checkpoints.jsonl');
        const lines = (await readFile(file, 'utf8')).trim().split('\n');
        const checkpoint = JSON.parse(lines.at(-1) as string);
        const identity = JSON.parse(await readFile(join(dir.path, 'server-identity.json'), 'utf8'));
        expect(checkpoint.publicKey).toBe(identity.signingPublicKey);

        admin = await adminSession();
        const head = await admin.db
          .selectFrom('audit_log')
          .select(['seq', 'hash'])
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirstOrThrow();
        // Shutdown anchored the newest row.
        expect({ seq: checkpoint.seq, hash: checkpoint.hash }).toEqual(head);
        expect(
          verify(
            new TextEncoder().encode(
              `fieldline/v1 audit checkpoint\n{"at":"${checkpoint.at}","hash":"${checkpoint.hash}","seq":${checkpoint.seq}}`,
            ),
            Buffer.from(checkpoint.signature, 'base64url'),
            checkpoint.publicKey,
          ),
        ).toBe(true);

        for (const statement of [
          sql`delete from audit_log where seq = ${head.seq}`,
          sql`update audit_log set actor = 'nobody' where seq = ${head.seq}`,
          sql`truncate audit_log`,
        ]) {
          const error = await statement.execute(admin.db).then(
            () => undefined,
            (caught: { code?: string }) => caught,
          );
          expect(error?.code).toBe('42501');
        }

        // The attacker owns the table: guard off, newest two rows gone, guard back on.
        await sql`alter table audit_log disable trigger user`.execute(admin.db);
        await sql`delete from audit_log where seq > ${head.seq - 2}`.execute(admin.db);
        await sql`alter table audit_log enable trigger user`.execute(admin.db);
        await admin.close();
        admin = undefined;

        const server = await serve(dir.path, databaseUrl);
        try {
          const verified = await api(server.url, 'GET', '/v1/admin/audit/verify');
          expect(verified.status).toBe(200);
          expect(verified.body).toMatchObject({
            ok: false,
            truncated: true,
            firstBrokenSeq: null,
            // The start's own install token appended a row after the gap: the head moved past
            // the checkpoint, and still the checkpointed row is missing.
            head: { seq: head.seq + 1 },
            checkpoint: { seq: head.seq, hash: head.hash },
            checkpointError: null,
          });
          // Rows appended afterwards do not hide the truncation.
          expect(
            (await api(server.url, 'POST', '/v1/admin/install-tokens', { tenant: 'acme' })).status,
          ).toBe(201);
          const later = await api(server.url, 'GET', '/v1/admin/audit/verify');
          expect(later.body).toMatchObject({ ok: false, truncated: true });
        } finally {
          await stop(server);
        }
        // Nothing was signed over the truncation, and the server said so.
        expect((await readFile(file, 'utf8')).trim().split('\n')).toEqual(lines);
        expect(server.stderr).toContain(
          'audit log truncated or rewritten behind its last checkpoint',
        );
      });
    });
  }
});
