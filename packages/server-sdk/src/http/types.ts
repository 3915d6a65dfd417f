/**
 * A request as every Fieldline handler sees it, whatever server it came
 * through (node:http, a fetch-style framework): the body is already read,
 * size-limited and decompressed.
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
  /** The raw body (empty for none). */
  readonly body: Uint8Array;
}

/** A response before it is written by an adapter. `body` is JSON-encoded unless it is a string. */
export interface FieldlineResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response headers (lowercase names). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON value, a pre-encoded text body, or nothing. */
  readonly body?: unknown;
}

/** The path parameters of a matched route (`:id` → `params.id`). */
export type RouteParams = Readonly<Record<string, string>>;

/** One route of the API. */
export interface Route {
  /** Upper-case method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
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
