import type { Route } from '@fieldline/server-sdk';

/** The label of requests that matched no route (404s, probes, scanners). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Builds a function that names a request path by the route pattern it matches
 * (`/v1/admin/devices/dev_123` → `/v1/admin/devices/:id`), so metrics are
 * labelled by a bounded set of values however many devices there are.
 *
 * @param routes - the app's routes (`createFieldlineApp(...).routes`).
 * @returns path → pattern, or {@link UNMATCHED_ROUTE}.
 * @example
 * ```ts
 * const label = createRouteLabeler(app.routes);
 * label('/v1/admin/devices/dev_1'); // '/v1/admin/devices/:id'
 * ```
 */
export function createRouteLabeler(routes: readonly Route[]): (path: string) => string {
  const patterns = [...new Set(routes.map((route) => route.path))].map((path) => ({
    path,
    regex: new RegExp(
      `^${path
        .split('/')
        .map((segment) =>
          segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/')}$`,
    ),
  }));
  return (path) => patterns.find((pattern) => pattern.regex.test(path))?.path ?? UNMATCHED_ROUTE;
}
