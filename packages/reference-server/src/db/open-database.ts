import { join, resolve } from 'node:path';
import { createDatabase, type FieldlineDb } from '@fieldline/server-sdk';

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** A PostgreSQL connection string (`DATABASE_URL`); when absent, embedded PGlite is used. */
  readonly databaseUrl?: string;
  /** The data directory; PGlite keeps its files in `<dataDir>/db`. */
  readonly dataDir: string;
  /**
   * Receives PostgreSQL connection errors that belong to no query (a dropped idle connection).
   * @default ignore
   */
  readonly onConnectionError?: (error: Error) => void;
}

/**
 * Where the PGlite files of a data directory live.
 *
 * @param dataDir - the data directory.
 * @returns the absolute path of `<dataDir>/db`.
 */
export function pgliteDirectory(dataDir: string): string {
  return resolve(join(dataDir, 'db'));
}

/**
 * Opens the server's database: PostgreSQL when a URL is given, else PGlite in
 * the data directory. Migrations are not run here.
 *
 * @param options - the URL, or the data directory.
 * @returns the open database.
 * @example
 * ```ts
 * const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: '.fieldline' });
 * ```
 */
export function openDatabase(options: OpenDatabaseOptions): Promise<FieldlineDb> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') {
    return createDatabase({
      connectionString: options.databaseUrl,
      ...(options.onConnectionError === undefined ? {} : { onError: options.onConnectionError }),
    });
  }
  return createDatabase({ dataDir: pgliteDirectory(options.dataDir) });
}
