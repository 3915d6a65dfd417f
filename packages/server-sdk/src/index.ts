// @fieldline/server-sdk: the backend side of Fieldline as composable pieces.
// Exports are listed by name so the public surface is reviewed, never implied.

export { adminDeviceRoutes } from './app/admin-routes.js';
export type { AppContext } from './app/app-context.js';
export {
  createFieldlineApp,
  type FieldlineApp,
  type FieldlineAppOptions,
} from './app/create-fieldline-app.js';
export { deviceRoutes } from './app/device-routes.js';
export { healthRoutes } from './app/health-routes.js';
export {
  type AdminAuthenticator,
  type AdminCredential,
  type AdminPrincipal,
  assertTenantAccess,
  createAdminAuthenticator,
} from './auth/admin-auth.js';
export { type AuthenticatedDevice, authenticateDevice } from './auth/device-auth.js';
export {
  bearerToken,
  generateSecretToken,
  hashSecretToken,
  secretsEqual,
} from './auth/secret-tokens.js';
export { type ResolvedConfig, resolveDeviceConfig, setConfig } from './config/config-service.js';
export { DEFAULT_DEVICE_CONFIG } from './config/default-device-config.js';
export { createDatabase, type DatabaseOptions, type FieldlineDb } from './db/create-database.js';
export type {
  AggregatesTable,
  AuditLogTable,
  CommandsTable,
  ConfigsTable,
  ConsentLedgerTable,
  DeadLettersTable,
  DevicesTable,
  DeviceTokensTable,
  EventsTable,
  FieldlineDatabase,
  InstallTokensTable,
  OutboxTable,
  PoliciesTable,
  ReportsTable,
  SeenMessagesTable,
  SessionsTable,
  TenantsTable,
} from './db/database-schema.js';
export { migrateToLatest, migrations } from './db/migrate.js';
export { PGliteDialect, type PGliteLike } from './db/pglite-dialect.js';
export {
  type DeviceSummary,
  deviceTenant,
  getDeviceDetail,
  listDeviceEvents,
  listDevices,
} from './devices/device-queries.js';
export { type EnrollDeviceOptions, enrollDevice } from './enrollment/enroll-device.js';
export { type CreateInstallTokenOptions, createInstallToken } from './enrollment/install-tokens.js';
export type { BodyLimits } from './http/body-limits.js';
export { type FetchHandler, toFetchHandler } from './http/fetch-adapter.js';
export { HttpError, isHttpError } from './http/http-error.js';
export { json, parseJson, readJsonBody, validate } from './http/json-body.js';
export { type NodeRequestListener, toNodeListener } from './http/node-adapter.js';
export { createRouter, type RouterOptions } from './http/router.js';
export type {
  FieldlineHandler,
  FieldlineRequest,
  FieldlineResponse,
  Route,
  RouteParams,
} from './http/types.js';
