// Runs a suite against every real database available: embedded PGlite always,
// and PostgreSQL when TEST_DATABASE_URL is set (CI sets it). Each suite gets
// its own fresh database: a new in-memory PGlite, or a new PostgreSQL schema
// that is dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { createDatabase, type FieldlineDb } from '../../src/db/create-database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

export type DatabaseKind = 'pglite' | 'postgres';

/** The databases this run covers. */
export function availableDatabases(): DatabaseKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** Opens a fresh, migrated database of `kind`; `dispose` closes it and drops its schema. */
export async function openTestDatabase(
  kind: DatabaseKind,
): Promise<FieldlineDb & { dispose(): Promise<void> }> {
  if (kind === 'pglite') {
    const database = await createDatabase({});
    await migrateToLatest(database.db);
    return { ...database, dispose: () => database.close() };
  }
  const url = process.env.TEST_DATABASE_URL as string;
  const schema = `fl_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `TEST_DATABASE_URL is set but PostgreSQL is unreachable at ${url} (${(error as Error).message}). ` +
        'Start it (pg_ctlcluster --skip-systemctl-redirect <version> main start) or unset TEST_DATABASE_URL to run on PGlite only.',
    );
  }
  await admin.query(`create schema ${schema}`);
  const database = await createDatabase({ connectionString: url, schema, maxConnections: 5 });
  await migrateToLatest(database.db);
  return {
    ...database,
    async dispose() {
      await database.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

/**
 * Declares `body` once per available database, with a fresh migrated database
 * per suite. `current()` returns it inside tests and hooks.
 */
export function describeEachDatabase(
  title: string,
  body: (current: () => FieldlineDb, kind: DatabaseKind) => void,
): void {
  for (const kind of availableDatabases()) {
    describe(`${title} [${kind}]`, () => {
      let database: (FieldlineDb & { dispose(): Promise<void> }) | undefined;
      beforeAll(async () => {
        database = await openTestDatabase(kind);
      }, 60_000);
      afterAll(async () => {
        await database?.dispose();
      });
      body(() => {
        if (database === undefined) throw new Error('database not open yet');
        return database;
      }, kind);
    });
  }
}
