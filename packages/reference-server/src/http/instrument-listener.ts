import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { NodeRequestListener } from '@fieldline/server-sdk';
import type { ServerLogger } from '../logging/create-logger.js';
import type { ServerMetrics } from '../metrics/server-metrics.js';

/** Options of {@link instrumentListener}. */
export interface InstrumentListenerOptions {
  /** Names a path by its route pattern (see `createRouteLabeler`). */
  readonly labelRoute: (path: string) => string;
  /** Where request latency and counts go. */
  readonly metrics: ServerMetrics;
  /** Where the request log goes. */
  readonly logger: ServerLogger;
  /**
   * Route patterns logged at `debug` rather than `info`, so probes do not flood the log.
   * @default ['/healthz', '/readyz', '/metrics']
   */
  readonly quietRoutes?: readonly string[];
}

const MAX_LOGGED_PATH = 256;

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * Wraps a node:http listener so every request is measured and logged once it
 * ends: method, path (without the query string), status and duration. Bodies,
 * headers and query strings are never logged, so neither are tokens.
 *
 * @param listener - the listener to wrap (e.g. `toNodeListener(app)`).
 * @param options - route labelling, metrics and logger.
 * @returns a listener that behaves exactly like `listener`.
 * @example
 * ```ts
 * const listener = instrumentListener(toNodeListener(app), {
 *   labelRoute: createRouteLabeler(app.routes), metrics, logger,
 * });
 * ```
 */
export function instrumentListener(
  listener: NodeRequestListener,
  options: InstrumentListenerOptions,
): NodeRequestListener {
  const quiet = new Set(options.quietRoutes ?? ['/healthz', '/readyz', '/metrics']);
  return (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    response.once('close', () => {
      const durationMs = performance.now() - started;
      const method = (request.method ?? 'GET').toUpperCase();
      const path = pathOf(request);
      const route = options.labelRoute(path);
      // An event stream only ends when the client leaves: that is its normal end, not an abort.
      const streamed = /^text\/event-stream/.test(String(response.getHeader('content-type') ?? ''));
      const status =
        response.writableFinished || (streamed && response.headersSent)
          ? response.statusCode
          : 'aborted';
      options.metrics.observeRequest({ method, route, status, durationMs });
      const logged = path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
      const fields = { method, path: logged, status, durationMs: Math.round(durationMs * 10) / 10 };
      if (status === 'aborted' || status >= 500) options.logger.warn(fields, 'request');
      else if (quiet.has(route)) options.logger.debug(fields, 'request');
      else options.logger.info(fields, 'request');
    });
    listener(request, response);
  };
}
