// The database drivers are optional peer dependencies. These tests stand in a loader for a
// package that is really absent (Node's own "module not found", from import() and from
// require()), so the missing-driver path runs without uninstalling anything.
import { createRequire } from 'node:module';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createPostgresBusWith } from '../../src/cluster/postgres-bus.js';
import { createDatabaseWith } from '../../src/db/create-database.js';
import { DatabaseDriverError, isDatabaseDriverError } from '../../src/db/database-driver-error.js';
import { type DatabaseDrivers, installedDrivers } from '../../src/db/database-drivers.js';

// Not a dependency of anything: resolving it fails the way a missing driver does.
const ABSENT = 'fieldline-test-driver-that-is-not-installed';
const importAbsent = (): Promise<never> =>
  import(/* @vite-ignore */ ABSENT).then(() => {
    throw new Error(`${ABSENT} should not be installed`);
  });
const requireAbsent = (): Promise<never> =>
  Promise.resolve().then(() => {
    createRequire(import.meta.url)(ABSENT);
    throw new Error(`${ABSENT} should not be installed`);
  });

// Nothing listens here; a pg pool does not connect until its first query.
const UNREACHABLE_URL = 'postgres://fieldline@127.0.0.1:1/none';

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe.each([
  ['import()', importAbsent],
  ['require()', requireAbsent],
])('a driver missing from %s', (_how, absent) => {
  it('fails createDatabase({ connectionString }) with driver_missing and the pg install', async () => {
    const drivers: DatabaseDrivers = { ...installedDrivers, pg: absent };
    const error = await caught(createDatabaseWith({ connectionString: UNREACHABLE_URL }, drivers));
    expect(error).toBeInstanceOf(DatabaseDriverError);
    expect(isDatabaseDriverError(error)).toBe(true);
    const driverError = error as DatabaseDriverError;
    expect(driverError.code).toBe('driver_missing');
    expect(driverError.message).toContain('createDatabase({ connectionString })');
    expect(driverError.message).toContain('`npm install pg`');
    expect(driverError.details).toEqual({ driver: 'pg', install: 'npm install pg' });
    expect((driverError.cause as { code?: string }).code).toMatch(/^(ERR_)?MODULE_NOT_FOUND$/);
  });

  it('fails createDatabase({ dataDir }) with driver_missing and the PGlite install', async () => {
    const drivers: DatabaseDrivers = { ...installedDrivers, pglite: absent };
    const error = await caught(createDatabaseWith({ dataDir: 'memory://' }, drivers));
    expect(isDatabaseDriverError(error)).toBe(true);
    expect((error as Error).message).toContain('`npm install @electric-sql/pglite`');
    expect((error as DatabaseDriverError).details).toEqual({
      driver: '@electric-sql/pglite',
      install: 'npm install @electric-sql/pglite',
    });
  });

  it('fails createPostgresBus with driver_missing before connecting', async () => {
    const drivers: DatabaseDrivers = { ...installedDrivers, pg: absent };
    const error = await caught(
      createPostgresBusWith({ connectionString: UNREACHABLE_URL }, drivers),
    );
    expect(isDatabaseDriverError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^createPostgresBus uses PostgreSQL.*`npm install pg`/,
    );
  });
});

describe('only the chosen database loads its driver', () => {
  it('opens embedded PGlite without pg', async () => {
    const database = await createDatabaseWith({}, { ...installedDrivers, pg: importAbsent });
    try {
      expect(database.kind).toBe('pglite');
      const { rows } = await sql<{ n: number }>`select 41 + 1 as n`.execute(database.db);
      expect(rows).toEqual([{ n: 42 }]);
    } finally {
      await database.close();
    }
  });

  it('opens a PostgreSQL pool without PGlite', async () => {
    const database = await createDatabaseWith(
      { connectionString: UNREACHABLE_URL },
      { ...installedDrivers, pglite: importAbsent },
    );
    expect(database.kind).toBe('postgres');
    expect(database.poolStats()).toEqual({ total: 0, idle: 0, waiting: 0 });
    await database.close();
  });

  it('passes through a driver that fails for another reason', async () => {
    const broken = new Error('the driver threw while loading');
    const error = await caught(
      createDatabaseWith({}, { ...installedDrivers, pglite: () => Promise.reject(broken) }),
    );
    expect(error).toBe(broken);
  });
});
