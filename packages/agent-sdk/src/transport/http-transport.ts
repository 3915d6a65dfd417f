import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import crossFetch from 'cross-fetch';

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

/** The fetch function the transport uses (cross-fetch by default). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /**
   * fetch implementation.
   * @default cross-fetch
   */
  readonly fetch?: FetchLike;
  /**
   * Per-request timeout.
   * @default 30_000
   */
  readonly timeoutMs?: number;
  /** Sent as user-agent. */
  readonly userAgent?: string;
}

/**
 * The default transport: cross-fetch with a per-request timeout. A timeout
 * surfaces as an `AbortError`/`TimeoutError`, which core's `classifyError`
 * treats as retryable.
 *
 * @param options - fetch, timeout, user agent.
 */
export function createHttpTransport(options: HttpTransportOptions = {}): Transport {
  const fetchImpl: FetchLike = options.fetch ?? (crossFetch as unknown as FetchLike);
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Flushes and heartbeats go to one server every few seconds: reusing the
  // connection saves a TCP (and TLS) handshake each time. cross-fetch on Node
  // is node-fetch, which takes the agent in its options; idle sockets are
  // unref'd by Node, so they never keep the process alive.
  const keepAlive =
    options.fetch === undefined
      ? {
          http: new HttpAgent({ keepAlive: true, maxSockets: 4 }),
          https: new HttpsAgent({ keepAlive: true, maxSockets: 4 }),
        }
      : undefined;
  return {
    async request({ method, url, headers, body, signal }) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      const response = await fetchImpl(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(options.userAgent === undefined ? {} : { 'user-agent': options.userAgent }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body }),
        signal: combined,
        ...(keepAlive === undefined
          ? {}
          : { agent: url.startsWith('https:') ? keepAlive.https : keepAlive.http }),
      } as RequestInit);
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
