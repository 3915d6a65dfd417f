/**
 * What to do with an HTTP response:
 * - `success`: done;
 * - `retryable`: try again after a back-off (transient: overload, timeouts, gateways);
 * - `reauthenticate`: get new credentials, then try again;
 * - `fatal`: trying the same request again cannot help (drop it and report).
 */
export type HttpStatusClass = 'success' | 'retryable' | 'reauthenticate' | 'fatal';

/**
 * What to do with an error thrown by a request:
 * - `retryable`: a network failure or a per-request timeout;
 * - `aborted`: the caller's own `AbortSignal` fired, so stop without retrying;
 * - `fatal`: anything else (a bug, a bad URL, a TLS certificate problem).
 */
export type ErrorClass = 'retryable' | 'aborted' | 'fatal';

/** Options of {@link classifyError}. */
export interface ClassifyErrorOptions {
  /**
   * The caller's signal. When it is aborted, the error is `aborted` whatever its shape; when it
   * is not, an `AbortError` must come from a per-request timeout and is `retryable`.
   * @default undefined (every abort is taken for a timeout)
   */
  readonly signal?: AbortSignal;
}

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);
// 5xx codes that describe a fixed property of the server, not a passing fault.
const FATAL_5XX_STATUSES: ReadonlySet<number> = new Set([501, 505, 506, 508, 510]);

/**
 * Classifies an HTTP status code. 2xx is success; 401 asks for re-authentication; 408, 425,
 * 429 and every 5xx except 501, 505, 506, 508 and 510 are retryable; everything else (other
 * 4xx, 1xx and 3xx reaching the caller, nonsense numbers) is fatal.
 *
 * @param status - the response status.
 * @returns the class of the status.
 * @example
 * ```ts
 * classifyHttpStatus(503); // 'retryable'
 * classifyHttpStatus(413); // 'fatal': split the batch instead
 * ```
 */
export function classifyHttpStatus(status: number): HttpStatusClass {
  if (!Number.isInteger(status)) return 'fatal';
  if (status >= 200 && status <= 299) return 'success';
  if (status === 401) return 'reauthenticate';
  if (RETRYABLE_STATUSES.has(status)) return 'retryable';
  if (status >= 500 && status <= 599) {
    return FATAL_5XX_STATUSES.has(status) ? 'fatal' : 'retryable';
  }
  return 'fatal';
}

/** Node.js system and library error codes that mean "the network failed, try again". */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Codes retrying cannot fix within a retry budget: TLS trust failures and malformed requests.
 * Checked before `TypeError: fetch failed` is taken for a network failure.
 */
const FATAL_CODES: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_INVALID_URL',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  // The agent's SPKI pin check refused the server's key: a new connection meets the same key.
  'tls_pin_mismatch',
]);

/**
 * undici codes that report a programmer or configuration error; every other `UND_ERR_*` code is
 * a connection or timeout failure and retryable. Unknown (future) undici codes are retried
 * because the alternative, dropping a batch, loses data.
 */
const FATAL_UNDICI_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_INVALID_RETURN_VALUE',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_DESTROYED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_BPL_MISSING_UPSTREAM',
  // Only thrown with undici's `throwOnError`; classify the status itself instead.
  'UND_ERR_RESPONSE_STATUS_CODE',
]);

/** node-fetch (behind cross-fetch) marks its own timeouts with these `type`s. */
const RETRYABLE_FETCH_ERROR_TYPES: ReadonlySet<string> = new Set([
  'request-timeout',
  'body-timeout',
]);

// Deep enough for fetch's TypeError → AggregateError → system error; bounded against cycles.
const MAX_CAUSE_DEPTH = 8;

function propertyOf(value: object, key: string): unknown {
  return (value as Record<string, unknown>)[key];
}

function judge(value: object): 'retryable' | 'fatal' | undefined {
  const code = propertyOf(value, 'code');
  if (typeof code === 'string') {
    if (RETRYABLE_CODES.has(code)) return 'retryable';
    if (FATAL_CODES.has(code)) return 'fatal';
    if (code.startsWith('UND_ERR')) return FATAL_UNDICI_CODES.has(code) ? 'fatal' : 'retryable';
  }
  const name = propertyOf(value, 'name');
  // The caller's own abort was ruled out before we got here, so an abort is a timeout.
  if (name === 'TimeoutError' || name === 'AbortError') return 'retryable';
  if (name === 'FetchError') {
    const type = propertyOf(value, 'type');
    if (typeof type === 'string' && RETRYABLE_FETCH_ERROR_TYPES.has(type)) return 'retryable';
  }
  return undefined;
}

function isFetchFailed(value: object): boolean {
  return (
    value instanceof TypeError &&
    value.message === 'fetch failed' &&
    propertyOf(value, 'cause') !== undefined
  );
}

/**
 * Classifies an error thrown while making a request. Looks at the error, its `cause` chain and
 * the members of an `AggregateError` (Node reports a failed multi-address connect that way):
 *
 * - the caller's `signal` is aborted → `aborted`;
 * - a network error code (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `EPIPE`, `ENOTFOUND`,
 *   `EAI_AGAIN`, …) or an undici `UND_ERR_*` connection/timeout code → `retryable`;
 * - an `AbortError` or `TimeoutError` while the caller's signal is not aborted (a per-request
 *   timeout), or a node-fetch timeout → `retryable`;
 * - a TLS certificate or invalid-URL code → `fatal`;
 * - fetch's `TypeError: fetch failed` with a `cause` → `retryable` unless the cause is fatal;
 * - anything else → `fatal`.
 *
 * `fatal` here means "retrying now cannot help", not "the server rejected the data": a caller
 * that spools may keep the payload for later rather than drop it.
 *
 * @param error - whatever was thrown.
 * @param options - see {@link ClassifyErrorOptions}.
 * @returns the class of the error.
 * @example
 * ```ts
 * try { await fetch(url, { signal }); } catch (error) {
 *   if (classifyError(error, { signal }) === 'retryable') scheduleRetry();
 * }
 * ```
 */
export function classifyError(error: unknown, options: ClassifyErrorOptions = {}): ErrorClass {
  if (options.signal?.aborted === true) return 'aborted';
  const seen = new Set<object>();
  let fetchFailed = false;
  const queue: Array<{ readonly value: unknown; readonly depth: number }> = [
    { value: error, depth: 0 },
  ];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const { value, depth } = item;
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    const verdict = judge(value);
    if (verdict !== undefined) return verdict;
    if (isFetchFailed(value)) fetchFailed = true;
    if (depth >= MAX_CAUSE_DEPTH) continue;
    queue.push({ value: propertyOf(value, 'cause'), depth: depth + 1 });
    const members = propertyOf(value, 'errors');
    if (Array.isArray(members)) {
      for (const member of members) queue.push({ value: member, depth: depth + 1 });
    }
  }
  // undici says "fetch failed" for failures below HTTP; the fatal ones were caught above.
  return fetchFailed ? 'retryable' : 'fatal';
}
