import { AgentError } from '../agent-errors.js';
import { type AgentTlsOptions, createTlsConnectOptions } from './tls-connect-options.js';
import { findTlsPinError } from './tls-pin-error.js';

/** One HTTP exchange as the agent sees it. */
export interface TransportResponse {
  readonly status: number;
  /** Header lookup, case-insensitive. */
  header(name: string): string | undefined;
  /** The parsed JSON body, or undefined when there is none or it is not JSON. */
  readonly body: unknown;
}

/** How the agent talks HTTP; replace it to route through a proxy or a test server. */
export interface Transport {
  /**
   * Sends one request. Rejects only for network failures (no response);
   * every HTTP status resolves.
   */
  request(request: {
    readonly method: 'GET' | 'POST';
    readonly url: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
    readonly signal?: AbortSignal;
  }): Promise<TransportResponse>;
}

/** A fetch function to use instead of the default (e.g. one that goes through a proxy). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /**
   * fetch implementation. Cannot be combined with `tls`: pins are enforced by the default
   * fetch's connection pool.
   * @default Node's global fetch; with `tls`, the `undici` package's fetch on a pool of its own
   */
  readonly fetch?: FetchLike;
  /**
   * Per-request timeout.
   * @default 30_000
   */
  readonly timeoutMs?: number;
  /** Sent as user-agent. */
  readonly userAgent?: string;
  /**
   * SPKI pins and CA certificates for HTTPS (see {@link AgentTlsOptions}).
   * @default Node's default roots, no pinning
   */
  readonly tls?: AgentTlsOptions;
}

/** The subset of a fetch response the transport reads (undici's and the global one). */
interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

interface FetchInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly signal: AbortSignal;
}

type FetchFunction = (url: string, init: FetchInit) => Promise<FetchResponseLike>;

/**
 * Node's own fetch (undici inside Node). Its global connection pool keeps connections alive
 * between flushes and opens as many as there are concurrent requests (no fixed socket cap to
 * queue or fail behind), and its idle sockets never keep the process alive. It honours a
 * dispatcher the host set with undici's `setGlobalDispatcher` (e.g. a proxy agent).
 */
const nodeFetch: FetchFunction = (url, init) => fetch(url, init);

/**
 * With pins or CAs: the npm `undici` package's fetch on an `Agent` of this transport whose
 * `connect` options carry them. Not Node's fetch with that `Agent` as dispatcher: a dispatcher
 * works only with the fetch of the undici copy that made it, and Node bundles a different
 * major per release line (6 in Node 20 and 22, 7 in 24, 8 in 26). Loaded on first use: it adds
 * ~10 MB of RSS that agents without pins do not pay.
 */
function createPinnedFetch(tls: AgentTlsOptions): FetchFunction {
  // Checked now, so a malformed pin fails createHttpTransport rather than the first request.
  const connect = createTlsConnectOptions(tls);
  let loaded: Promise<FetchFunction> | undefined;
  return async (url, init) => {
    loaded ??= import('undici').then(({ Agent, fetch: undiciFetch }) => {
      const dispatcher = new Agent({ connect: { ...connect } });
      return (target, options) => undiciFetch(target, { ...options, dispatcher });
    });
    const pinnedFetch = await loaded;
    return pinnedFetch(url, init);
  };
}

function isEmptyTls(tls: AgentTlsOptions): boolean {
  return (tls.pins === undefined || tls.pins.length === 0) && tls.ca === undefined;
}

/**
 * The default transport: Node's own fetch on its keep-alive connection pool (undici's fetch
 * on a pool of the transport's own when `tls` sets pins or CAs), with a per-request timeout. A timeout
 * surfaces as an `AbortError`/`TimeoutError`, which core's `classifyError` treats as
 * retryable; a pin mismatch rejects with a {@link TlsPinError}, which it treats as fatal.
 *
 * @param options - fetch, timeout, user agent, TLS pins and CAs.
 * @returns the transport.
 * @throws {@link AgentError} `invalid_options` for a malformed pin, or `fetch` with `tls`.
 * @example
 * ```ts
 * const transport = createHttpTransport({ tls: { pins: [currentPin, backupPin] } });
 * ```
 */
export function createHttpTransport(options: HttpTransportOptions = {}): Transport {
  if (options.fetch !== undefined && options.tls !== undefined) {
    throw new AgentError(
      'invalid_options',
      'createHttpTransport takes fetch or tls, not both: pins are checked by the default fetch.',
    );
  }
  const fetchImpl: FetchFunction =
    options.fetch ??
    (options.tls === undefined || isEmptyTls(options.tls)
      ? nodeFetch
      : createPinnedFetch(options.tls));
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    async request({ method, url, headers, body, signal }) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      let response: FetchResponseLike;
      try {
        response = await fetchImpl(url, {
          method,
          headers: {
            accept: 'application/json',
            ...(options.userAgent === undefined ? {} : { 'user-agent': options.userAgent }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          ...(body === undefined ? {} : { body }),
          signal: combined,
        });
      } catch (error) {
        // fetch wraps it in "fetch failed"; callers match the typed error itself.
        throw findTlsPinError(error) ?? error;
      }
      const text = await response.text();
      let parsed: unknown;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      return {
        status: response.status,
        header: (name) => response.headers.get(name) ?? undefined,
        body: parsed,
      };
    },
  };
}
