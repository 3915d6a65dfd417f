/**
 * A request as every Fieldline handler sees it, whatever server it came
 * through (node:http, a fetch-style framework): the body is already read and
 * size-limited; it is decompressed when first read, so a route that checks
 * credentials first never decompresses an unauthenticated body.
 */
export interface FieldlineRequest {
  /** Upper-case method. */
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  /** The query string, parsed. */
  readonly query: URLSearchParams;
  /** Header lookup, case-insensitive. */
  header(name: string): string | undefined;
  /**
   * True when the request reached this server over TLS (so cookies it sets can be `Secure`).
   * Adapters fill it in; behind a TLS-terminating proxy it is false, and the app's options say
   * what to assume instead.
   * @default false
   */
  readonly secure?: boolean;
  /**
   * The body, decompressed (empty for none). Reading it throws `HttpError`
   * `payload_too_large`, `unsupported_media_type` or `invalid_json` when the
   * `content-encoding` cannot be undone within the limits.
   */
  readonly body: Uint8Array;
  /**
   * The peer's address as the socket saw it (a proxy's, behind one), when the adapter knows
   * it; login rate limits count per address.
   */
  readonly remoteAddress?: string;
}

/**
 * A response before it is written by an adapter. `body` is JSON-encoded unless
 * it is a string or a {@link FieldlineStream}.
 */
export interface FieldlineResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response headers (lowercase names). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON value, a pre-encoded text body, a {@link FieldlineStream}, or nothing. */
  readonly body?: unknown;
}

/**
 * Where a streaming response writes, handed to {@link FieldlineStream.start}
 * by the adapter. Every method is safe to call after the stream has finished
 * (it then does nothing).
 */
export interface FieldlineStreamSink {
  /**
   * Queues a UTF-8 text chunk for the client.
   *
   * @param chunk - the text.
   * @returns false when the client is not keeping up (the chunk is still queued); check
   *   {@link FieldlineStreamSink.bufferedBytes} to decide when to give up on it.
   */
  write(chunk: string): boolean;
  /** Ends the response after what is queued has been sent. */
  end(): void;
  /** Ends the response at once, dropping what is queued (e.g. for a client that stopped reading). */
  abort(): void;
  /**
   * Bytes queued for the client and not yet taken by it.
   *
   * @returns the count.
   */
  bufferedBytes(): number;
}

/**
 * A response body written over time (server-sent events, long polls), which
 * both adapters support: node:http writes each chunk as it comes, with headers
 * flushed at once and no compression; the fetch adapter answers with a
 * `ReadableStream`. The status and headers of the {@link FieldlineResponse}
 * are sent before `start` runs.
 *
 * @example
 * ```ts
 * const body: FieldlineStream = {
 *   kind: 'stream',
 *   start(sink) {
 *     const timer = setInterval(() => sink.write(': tick\n\n'), 1000);
 *     return () => clearInterval(timer);
 *   },
 * };
 * return { status: 200, headers: { 'content-type': 'text/event-stream' }, body };
 * ```
 */
export interface FieldlineStream {
  /** Marks the body as a stream. */
  readonly kind: 'stream';
  /**
   * Starts producing the body.
   *
   * @param sink - where to write.
   * @returns a cleanup, called exactly once when the response finishes for any reason: `end()`
   *   or `abort()` on the sink, the client going away, or the server closing the connection.
   *   When `start` throws, the response is aborted (there is no cleanup to run).
   */
  start(sink: FieldlineStreamSink): () => void;
}

/** The path parameters of a matched route (`:id` → `params.id`). */
export type RouteParams = Readonly<Record<string, string>>;

/** One route of the API. */
export interface Route {
  /** Upper-case method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path pattern from core's `ROUTES`, e.g. `/v1/admin/devices/:id`. */
  readonly path: string;
  /** Handles a matched request. Throw `HttpError` for client errors. */
  handle(request: FieldlineRequest, params: RouteParams): Promise<FieldlineResponse>;
}

/** Something that answers Fieldline requests: the whole API, or a part of it. */
export interface FieldlineHandler {
  /**
   * Answers one request. Never throws: client errors become their documented
   * 4xx JSON body, anything else a 500 `internal_error` without internals.
   */
  handle(request: FieldlineRequest): Promise<FieldlineResponse>;
}
