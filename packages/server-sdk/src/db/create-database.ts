import { Kysely, PostgresDialect } from 'kysely';
import { type DatabaseDrivers, installedDrivers, loadDriver } from './database-drivers.js';
import type { FieldlineDatabase } from './database-schema.js';
import { openPGlite } from './open-pglite.js';
import { PGliteDialect } from './pglite-dialect.js';

/** Where the server's data lives. */
export type DatabaseOptions =
  | {
      /** A PostgreSQL connection string, e.g. `postgres://user@host:5432/db`. */
      readonly connectionString: string;
      /**
       * Largest number of pooled connections.
       * @default 10
       */
      readonly maxConnections?: number;
      /**
       * Longest wait for a connection, in ms: opening one (a database that does not answer at
       * all, e.g. behind a dropped route) or waiting for a free one in a full pool. The query
       * then fails, and the request is answered 503 `unavailable`, instead of hanging.
       * @default 10000
       */
      readonly connectTimeoutMs?: number;
      /** Schema to use (`search_path`); created by the caller. Tests use one per suite. */
      readonly schema?: string;
      /**
       * Receives connection errors that belong to no query: an idle pooled
       * connection the server ended (a restart, `pg_terminate_backend`, an idle
       * reaper), or a checked-out one cut between statements. The pool drops
       * such a connection and opens a new one on demand, so the process keeps
       * running; queries that fail meanwhile reject (see
       * `isDatabaseUnavailableError`).
       * @default ignore
       */
      readonly onError?: (error: Error) => void;
    }
  | {
      /**
       * Directory of the embedded PGlite database; `memory://` (the default)
       * keeps it in memory.
       * @default 'memory://'
       */
      readonly dataDir?: string;
    };

/** An open database: the Kysely instance and how to close it. */
export interface FieldlineDb {
  /** The query builder, typed with every Fieldline table. */
  readonly db: Kysely<FieldlineDatabase>;
  /** Which engine backs it. */
  readonly kind: 'postgres' | 'pglite';
  /** Closes the pool or the embedded database. */
  close(): Promise<void>;
  /**
   * Connection pool figures for metrics: connections open, idle, and
   * requests waiting for one. PGlite has a single in-process connection.
   */
  poolStats(): { readonly total: number; readonly idle: number; readonly waiting: number };
}

// int8 columns (event seq, identity keys, durations) hold values well under
// 2^53 and are read as numbers; `date` stays the 'YYYY-MM-DD' text it is.
const INT8_OID = 20;
const DATE_OID = 1082;

/**
 * Opens the database: PostgreSQL through a `pg` pool when a connection string
 * is given, else embedded PGlite. Run {@link migrateToLatest} before use.
 * Only the driver of the chosen database is loaded; both are optional peer
 * dependencies, so install the one you use: `pg` for PostgreSQL, PGlite for
 * the embedded database (the error's message names the exact package).
 *
 * @param options - connection string, or PGlite data directory.
 * @returns the open database.
 * @throws {@link DatabaseDriverError} `driver_missing` when that database's driver is not installed.
 * @example
 * ```ts
 * const { db, close } = await createDatabase(process.env.DATABASE_URL
 *   ? { connectionString: process.env.DATABASE_URL } : { dataDir: '.fieldline/db' });
 * ```
 */
export function createDatabase(options: DatabaseOptions): Promise<FieldlineDb> {
  return createDatabaseWith(options, installedDrivers);
}

/**
 * {@link createDatabase} with the driver loaders given, so tests can stand in a missing driver.
 * @internal
 */
export async function createDatabaseWith(
  options: DatabaseOptions,
  drivers: DatabaseDrivers,
): Promise<FieldlineDb> {
  if ('connectionString' in options) {
    const pg = await loadDriver(drivers, 'pg', 'createDatabase({ connectionString })');
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
      types: {
        getTypeParser: (oid, format) => {
          if (oid === INT8_OID) return (value: string) => Number(value);
          if (oid === DATE_OID) return (value: string) => value;
          return pg.types.getTypeParser(oid, format);
        },
      },
    });
    // Without a listener, `pg` rethrows an `error` event and the process dies: on the pool
    // for idle connections, and on a checked-out client (Kysely holds one per transaction)
    // when the server ends the session between two statements.
    const report = (error: Error): void => {
      try {
        options.onError?.(error);
      } catch {
        // An error sink that throws must not take the process down either.
      }
    };
    pool.on('error', report);
    pool.on('connect', (client) => client.on('error', report));
    const db = new Kysely<FieldlineDatabase>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      kind: 'postgres',
      close: () => db.destroy(),
      poolStats: () => ({
        total: pool.totalCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount,
      }),
    };
  }
  const { PGlite } = await loadDriver(drivers, 'pglite', 'createDatabase({ dataDir })');
  const pglite = await openPGlite(PGlite, options.dataDir ?? 'memory://', {
    parsers: { [INT8_OID]: (value: string) => Number(value), [DATE_OID]: (value: string) => value },
  });
  const db = new Kysely<FieldlineDatabase>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    close: () => db.destroy(),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
  };
}
