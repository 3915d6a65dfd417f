import { type ErrorBody, errorBody } from '@fieldline/core';
import { databaseUnavailable, isDatabaseUnavailableError } from '../db/database-unavailable.js';
import { HttpError, isHttpError } from './http-error.js';
import { isFieldlineStream } from './stream-body.js';
import type {
  FieldlineHandler,
  FieldlineRequest,
  FieldlineResponse,
  Route,
  RouteParams,
} from './types.js';

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), names };
}

/** Options of {@link createRouter}. */
export interface RouterOptions {
  /**
   * Called with every unexpected error (a bug, never bad input); the client
   * only sees a 500 `internal_error`. A database outage is not reported here:
   * the client gets 503 `unavailable` with `retry-after` (see
   * `isDatabaseUnavailableError`), and the outage reaches `onUnavailable`.
   */
  readonly onError?: (error: unknown, request: FieldlineRequest) => void;
  /**
   * Called when a request failed because the database is away (it was
   * answered 503 `unavailable`).
   * @default ignore
   */
  readonly onUnavailable?: (error: unknown, request: FieldlineRequest) => void;
}

function errorResponse(
  status: number,
  body: ErrorBody,
  headers?: Record<string, string>,
): FieldlineResponse {
  return { status, body, headers: { 'content-type': 'application/json', ...headers } };
}

const textEncoder = new TextEncoder();

// HEAD answers what GET would, headers only (RFC 9110 §9.3.2): the body is dropped here, once,
// for every adapter, and a stream is never started. Content-Length is only sent when it is
// the length GET would send.
function withoutBody(response: FieldlineResponse): FieldlineResponse {
  const { body, ...rest } = response;
  if (body === undefined || isFieldlineStream(body)) return rest;
  const headers: Record<string, string> = { ...response.headers };
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (typeof body !== 'string') headers['content-type'] ??= 'application/json';
  headers['content-length'] ??= String(textEncoder.encode(text).byteLength);
  return { ...rest, headers };
}

// GET implies HEAD; the list goes in the `Allow` header of a 405 (RFC 9110 §15.5.6).
function allowedMethods(methods: ReadonlySet<string>): string {
  const allowed = new Set(methods);
  if (allowed.has('GET')) allowed.add('HEAD');
  return [...allowed].sort().join(', ');
}

/**
 * Combines routes into one handler: matches method and path, decodes path
 * parameters, and turns thrown errors into the protocol's JSON error body
 * (404 for an unknown path, 405 with an `Allow` header for a known path with
 * another method, 503 `unavailable` with `retry-after` when the database is
 * away, 500 for the rest). `HEAD` is answered for every `GET` route: the GET
 * handler runs (it sees `request.method === 'HEAD'`, so one with side effects
 * can skip them) and the answer keeps its status and headers but no body.
 *
 * @param routes - the routes, in any order; the first match wins.
 * @param options - where unexpected errors are reported.
 * @returns a handler that never throws.
 * @example
 * ```ts
 * const api = createRouter([...deviceRoutes, ...adminRoutes], { onError: (e) => log.error(e) });
 * ```
 */
export function createRouter(
  routes: readonly Route[],
  options: RouterOptions = {},
): FieldlineHandler {
  const compiled = routes.map(compile);
  const answer = async (request: FieldlineRequest): Promise<FieldlineResponse> => {
    const routeMethod = request.method === 'HEAD' ? 'GET' : request.method;
    const methods = new Set<string>();
    for (const { route, pattern, names } of compiled) {
      const match = pattern.exec(request.path);
      if (match === null) continue;
      methods.add(route.method);
      if (route.method !== routeMethod) continue;
      const params: Record<string, string> = {};
      try {
        names.forEach((name, index) => {
          params[name] = decodeURIComponent(match[index + 1] ?? '');
        });
        // No stored id holds U+0000 (PostgreSQL text cannot), so such an id names nothing.
        if (Object.values(params).some((value) => value.includes('\u0000'))) {
          throw new HttpError('not_found', `No such object: ${request.path}.`);
        }
        return await route.handle(request, params as RouteParams);
      } catch (error) {
        if (isHttpError(error))
          return errorResponse(error.status, error.toBody(), { ...error.headers });
        if (error instanceof URIError) {
          return errorResponse(
            400,
            errorBody('invalid_request', 'The path is not valid percent-encoding.'),
          );
        }
        if (isDatabaseUnavailableError(error)) {
          options.onUnavailable?.(error, request);
          const unavailable = databaseUnavailable(error);
          return errorResponse(unavailable.status, unavailable.toBody(), {
            ...unavailable.headers,
          });
        }
        options.onError?.(error, request);
        return errorResponse(
          500,
          errorBody(
            'internal_error',
            'The server failed to handle this request; it has been logged.',
          ),
        );
      }
    }
    if (methods.size > 0) {
      const allow = allowedMethods(methods);
      // The message leaves the method out so HEAD and GET answer the same length.
      const error = new HttpError('method_not_allowed', `${request.path} answers ${allow} only.`);
      return errorResponse(error.status, error.toBody(), { allow });
    }
    const error = new HttpError('not_found', `No route for ${request.path}.`);
    return errorResponse(error.status, error.toBody());
  };
  return {
    async handle(request) {
      const response = await answer(request);
      return request.method === 'HEAD' ? withoutBody(response) : response;
    },
  };
}
