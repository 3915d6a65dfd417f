import { HttpError } from '../http/http-error.js';

// Socket-level failures to reach or keep a database connection.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// SQLSTATEs of a server that is going, gone, or not accepting yet: class 08 (connection
// exception) is matched by prefix; 57P01 admin_shutdown (pg_terminate_backend, a fast
// shutdown), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down,
// recovering), 57P05 idle_session_timeout, 53300 too_many_connections.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300']);

// What `pg` and `pg-pool` say, without a code, when a connection ends under them or cannot be
// had; and what PGlite says once it is closed.
const MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Cannot use a pool after calling end on the pool',
  'PGlite is closed',
];

// Said by PostgreSQL with a generic SQLSTATE (55000) when a database refuses connections
// (`alter database … allow_connections false`, e.g. during maintenance).
const CONTAINED = ['is not currently accepting connections'];

const MAX_DEPTH = 5;

function matches(error: unknown, depth: number): boolean {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (
    typeof message === 'string' &&
    (MESSAGES.some((text) => message.startsWith(text)) ||
      CONTAINED.some((text) => message.includes(text)))
  ) {
    return true;
  }
  // Node reports a refused dual-stack connect (localhost → ::1 and 127.0.0.1) as an AggregateError.
  if (Array.isArray(errors) && errors.some((inner) => matches(inner, depth + 1))) return true;
  return matches(cause, depth + 1);
}

/**
 * Whether an error means the database is away (unreachable, restarting, or
 * the connection was cut), as opposed to a bug or a refused statement: the
 * one place that decides which failures a client should retry later.
 * Recognises `pg`'s network errors (`ECONNREFUSED`, `ECONNRESET`, …),
 * PostgreSQL's SQLSTATE class 08 and `57P01`/`57P02`/`57P03`/`57P05`/`53300`,
 * "Connection terminated…" from `pg`, and the same inside `cause` or an
 * `AggregateError`.
 *
 * @param error - anything caught from a query.
 * @returns true when retrying after a while may succeed.
 * @example
 * ```ts
 * try { await db.selectFrom('devices').selectAll().execute(); }
 * catch (error) { if (isDatabaseUnavailableError(error)) throw databaseUnavailable(error); throw error; }
 * ```
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  return matches(error, 0);
}

/**
 * How long clients are told to wait while the database is away, in seconds.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * The HTTP answer to a request that failed because the database is away:
 * 503 `unavailable` with `retry-after`, the cause kept for logs.
 *
 * @param cause - the database error.
 * @returns the error to throw or turn into a response.
 * @example
 * ```ts
 * if (isDatabaseUnavailableError(error)) throw databaseUnavailable(error);
 * ```
 */
export function databaseUnavailable(cause: unknown): HttpError {
  return new HttpError(
    'unavailable',
    `The database is not answering; retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`,
    { headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) }, cause },
  );
}
