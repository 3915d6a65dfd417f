import { type Clock, type Identity, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { type AdminCredential, createAdminAuthenticator } from '../auth/admin-auth.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createRouter } from '../http/router.js';
import type { FieldlineHandler, FieldlineRequest, Route } from '../http/types.js';
import { adminDeviceRoutes } from './admin-routes.js';
import type { AppContext } from './app-context.js';
import { deviceRoutes } from './device-routes.js';
import { healthRoutes } from './health-routes.js';

/** Options of {@link createFieldlineApp}. */
export interface FieldlineAppOptions {
  /** The migrated database. */
  readonly db: Kysely<FieldlineDatabase>;
  /** The server's long-term identity (agents pin its public keys). */
  readonly serverIdentity: Identity;
  /** Admin tokens; one without a tenant is the operator's and sees every tenant. */
  readonly adminCredentials: readonly AdminCredential[];
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
  /** Extra routes, matched after the built-in ones. */
  readonly extraRoutes?: (context: AppContext) => readonly Route[];
  /** Receives unexpected errors (the client gets a bare 500). */
  readonly onError?: (error: unknown, request: FieldlineRequest) => void;
}

/** The whole Fieldline API as one handler, plus the pieces it was built from. */
export interface FieldlineApp extends FieldlineHandler {
  /** The routes, for mounting elsewhere or inspecting. */
  readonly routes: readonly Route[];
  /** The shared context, for building extra routes. */
  readonly context: AppContext;
}

/**
 * Composes the Fieldline API from its routes. Mount it with `toNodeListener`
 * or `toFetchHandler`.
 *
 * @param options - database, server identity, admin credentials.
 * @returns the app.
 * @example
 * ```ts
 * const app = createFieldlineApp({ db, serverIdentity, adminCredentials: [{ token: adminToken }] });
 * http.createServer(toNodeListener(app)).listen(8080);
 * ```
 */
export function createFieldlineApp(options: FieldlineAppOptions): FieldlineApp {
  const context: AppContext = {
    db: options.db,
    clock: options.clock ?? systemClock,
    serverIdentity: options.serverIdentity,
    authenticateAdmin: createAdminAuthenticator(options.adminCredentials),
  };
  const routes = [
    ...healthRoutes(context),
    ...deviceRoutes(context),
    ...adminDeviceRoutes(context),
    ...(options.extraRoutes?.(context) ?? []),
  ];
  const router = createRouter(
    routes,
    options.onError === undefined ? {} : { onError: options.onError },
  );
  return { routes, context, handle: (request) => router.handle(request) };
}
