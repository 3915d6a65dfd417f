// One start on PostgreSQL, in a fresh schema, when TEST_DATABASE_URL is set (CI sets it).
import { randomBytes } from 'node:crypto';
import { createDatabase, type FieldlineDb, migrations } from '@fieldline/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { captureLogger } from '../support/capture-logger.js';
import { enrollBody, postJson } from '../support/http.js';
import { makeTempDir } from '../support/temp-dir.js';

const url = process.env.TEST_DATABASE_URL;

/** The URL with `search_path` set to `schema` for every pooled connection. */
function withSchema(connectionString: string, schema: string): string {
  const parsed = new URL(connectionString);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

describe.skipIf(url === undefined || url === '')('startServer on PostgreSQL (DATABASE_URL)', () => {
  const schema = `fl_rs_test_${randomBytes(6).toString('hex')}`;
  let admin: FieldlineDb;
  let dir: Awaited<ReturnType<typeof makeTempDir>>;

  beforeAll(async () => {
    admin = await createDatabase({ connectionString: url as string, maxConnections: 1 });
    try {
      await admin.db.schema.createSchema(schema).execute();
    } catch (error) {
      throw new Error(
        `TEST_DATABASE_URL is set but PostgreSQL is unreachable at ${url} (${(error as Error).message}). ` +
          'Start it (pg_ctlcluster --skip-systemctl-redirect <version> main start) or unset TEST_DATABASE_URL.',
      );
    }
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await admin?.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await admin?.close();
    await dir?.remove();
  });

  it('migrates into the schema, enrolls a device, and keeps PGlite out of the data dir', async () => {
    const server = await startServer({
      port: 0,
      dataDir: dir.path,
      databaseUrl: withSchema(url as string, schema),
      logger: captureLogger('silent').logger,
    });
    try {
      expect(server.databaseKind).toBe('postgres');
      expect(server.migrationsApplied).toEqual(Object.keys(migrations));
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      const install = await server.issueInstallToken();
      const enrolled = await postJson(`${server.url}/v1/enroll`, install.token, await enrollBody());
      expect(enrolled.status).toBe(201);
      const devices = await admin.db
        .withSchema(schema)
        .selectFrom('devices')
        .select('id')
        .execute();
      expect(devices.map((device) => device.id)).toEqual([enrolled.body.deviceId]);
    } finally {
      await server.stop();
    }
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${dir.path}/db`)).toBe(false);
  });
});
