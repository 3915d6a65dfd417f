import { ROUTES } from '@fieldline/core';
import type { Route } from '@fieldline/server-sdk';
import type { ServerMetrics } from './server-metrics.js';

/**
 * `GET /metrics`: the metrics in the Prometheus text format. Mount it through
 * `createFieldlineApp`'s `extraRoutes`. It is unauthenticated, like `/healthz`:
 * keep the port off the public internet or filter the path at the proxy.
 *
 * @param metrics - what to render.
 * @returns the route.
 * @example
 * ```ts
 * createFieldlineApp({ db, serverIdentity, adminCredentials, extraRoutes: () => [metricsRoute(metrics)] });
 * ```
 */
export function metricsRoute(metrics: ServerMetrics): Route {
  return {
    method: 'GET',
    path: ROUTES.metrics,
    handle: async () => ({
      status: 200,
      headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' },
      body: await metrics.render(),
    }),
  };
}
