import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';

/**
 * The subset of a PGlite instance the dialect uses, written out rather than
 * picked from PGlite's own types, so that this package's declarations compile
 * without PGlite installed (it is an optional peer dependency). A `PGlite`
 * instance satisfies it.
 */
export interface PGliteLike {
  /** Runs one parameterised statement. */
  query<R>(
    sql: string,
    parameters?: unknown[],
  ): Promise<{ readonly rows: R[]; readonly affectedRows?: number }>;
  /** Closes the database. */
  close(): Promise<void>;
}

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGliteLike;

  constructor(pglite: PGliteLike) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters]);
    return result.affectedRows === undefined
      ? { rows: result.rows }
      : { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) };
  }

  // biome-ignore lint/correctness/useYield: streaming is not supported by PGlite; the throw is the answer.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries.');
  }
}

// PGlite is one connection in one process, so the driver lends it to one
// Kysely connection at a time; a transaction holds it until commit/rollback.
class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection;
  readonly #pglite: PGliteLike;
  #queue: Promise<void> = Promise.resolve();

  constructor(pglite: PGliteLike) {
    this.#pglite = pglite;
    this.#connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const previous = this.#queue;
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    (this.#connection as PGliteConnection & { release?: () => void }).release = release;
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery({ sql: 'begin', parameters: [], query: undefined } as never);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery({ sql: 'commit', parameters: [], query: undefined } as never);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery({ sql: 'rollback', parameters: [], query: undefined } as never);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const holder = connection as PGliteConnection & { release?: () => void };
    const release = holder.release;
    holder.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.#pglite.close();
  }
}

/**
 * A Kysely dialect for PGlite (PostgreSQL compiled to WASM, in-process), so
 * one SQL dialect and one set of migrations serve PostgreSQL and the embedded
 * database alike.
 *
 * @example
 * ```ts
 * const db = new Kysely<FieldlineDatabase>({ dialect: new PGliteDialect(await PGlite.create(dataDir)) });
 * ```
 */
export class PGliteDialect implements Dialect {
  readonly #pglite: PGliteLike;

  /** @param pglite - an open PGlite instance; the dialect closes it on `db.destroy()`. */
  constructor(pglite: PGliteLike) {
    this.#pglite = pglite;
  }

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PGliteDriver(this.#pglite);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}
