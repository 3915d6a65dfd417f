// The database drivers are optional peer dependencies, loaded only when their database is
// chosen. They are typed here by the subset Fieldline uses (as Kysely types `pg` by its
// `PostgresPool`), so the published declarations never name `pg` or `@electric-sql/pglite`: an
// app compiles without the driver it does not use, and without `skipLibCheck`.
import type { PostgresPool } from 'kysely';
import { DatabaseDriverError } from './database-driver-error.js';
import type { PGliteLike } from './pglite-dialect.js';

/** Turns a column's text into its JavaScript value. @internal */
export type PgTypeParser = (value: string) => unknown;

/** The `pg.Pool` and `pg.Client` options Fieldline sets. @internal */
export interface PgConnectionConfig {
  readonly connectionString: string;
  readonly application_name?: string;
  readonly max?: number;
  readonly idleTimeoutMillis?: number;
  readonly connectionTimeoutMillis?: number;
  /** Startup options, e.g. `-c search_path=…`. */
  readonly options?: string;
  readonly types?: {
    getTypeParser(oid: number, format?: 'text' | 'binary'): PgTypeParser;
  };
}

/** The part of a `pg.Pool` Fieldline uses. @internal */
export interface PgPoolLike extends PostgresPool {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  query(text: string, values: unknown[]): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'connect', listener: (client: PgErrorSource) => void): unknown;
}

/** Anything of `pg` that emits `error` (a pooled client). @internal */
export interface PgErrorSource {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** A `LISTEN` notification as `pg` delivers it. @internal */
export interface PgNotification {
  readonly channel: string;
  readonly payload?: string | undefined;
}

/** The part of a `pg.Client` Fieldline uses (the cluster bus's listener). @internal */
export interface PgClientLike {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(event: 'notification'): unknown;
}

/** The part of the `pg` module Fieldline uses. @internal */
export interface PgModule {
  readonly Pool: new (config: PgConnectionConfig) => PgPoolLike;
  readonly Client: new (config: PgConnectionConfig) => PgClientLike;
  readonly types: {
    getTypeParser(oid: number, format?: 'text' | 'binary'): PgTypeParser;
  };
}

/** The PGlite options Fieldline passes. @internal */
export interface PGliteCreateOptions {
  readonly parsers?: Record<number, PgTypeParser>;
  readonly startParams?: string[];
  /** A gzipped tarball of a data directory to start from (the prebuilt template). */
  readonly loadDataDir?: Blob;
}

/** The part of the `@electric-sql/pglite` module Fieldline uses. @internal */
export interface PGliteModule {
  readonly PGlite: {
    readonly defaultStartParams: readonly string[];
    create(dataDir: string, options: PGliteCreateOptions): Promise<PGliteLike>;
  };
}

/**
 * How each driver is loaded: a seam, so a test can stand in a loader whose
 * package is absent. @internal
 */
export interface DatabaseDrivers {
  readonly pg: () => Promise<PgModule>;
  readonly pglite: () => Promise<PGliteModule>;
}

/**
 * The installed drivers, imported on first use. The literal specifiers keep
 * them visible to bundlers; the assignments check the subsets above against
 * the drivers' own types at build time. @internal
 */
export const installedDrivers: DatabaseDrivers = {
  async pg() {
    const pg: PgModule = (await import('pg')).default;
    return pg;
  },
  async pglite() {
    const pglite: PGliteModule = await import('@electric-sql/pglite');
    return pglite;
  },
};

const DRIVER_PACKAGES = {
  pg: { name: 'pg', purpose: 'PostgreSQL' },
  pglite: { name: '@electric-sql/pglite', purpose: 'the embedded PGlite database' },
} as const;

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Loads one driver, turning "not installed" into a {@link DatabaseDriverError}
 * that names the package to install. Other failures pass through.
 *
 * @param drivers - the loaders.
 * @param driver - which one.
 * @param usedBy - what needs it, for the message (e.g. `createDatabase({ connectionString })`).
 * @returns the driver module.
 * @throws {@link DatabaseDriverError} `driver_missing`.
 * @internal
 */
export async function loadDriver<K extends keyof DatabaseDrivers>(
  drivers: DatabaseDrivers,
  driver: K,
  usedBy: string,
): Promise<Awaited<ReturnType<DatabaseDrivers[K]>>> {
  try {
    return (await drivers[driver]()) as Awaited<ReturnType<DatabaseDrivers[K]>>;
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    const { name, purpose } = DRIVER_PACKAGES[driver];
    throw new DatabaseDriverError(
      'driver_missing',
      `${usedBy} uses ${purpose}, whose driver is not installed: run \`npm install ${name}\` ` +
        `(it is an optional peer dependency of @fieldline/server-sdk).`,
      { details: { driver: name, install: `npm install ${name}` }, cause: error },
    );
  }
}
