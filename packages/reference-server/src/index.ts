// @fieldline/reference-server: a runnable Fieldline server composing @fieldline/server-sdk.
// Exports are listed by name so the public surface is reviewed, never implied.

export { type CreateAccountOptions, createAccount } from './accounts/create-account.js';
export {
  type AdminTokenSource,
  MIN_ADMIN_TOKEN_LENGTH,
  type ResolveAdminTokenOptions,
  type ResolvedAdminToken,
  resolveAdminToken,
} from './admin/resolve-admin-token.js';
export { type OpenDatabaseOptions, openDatabase, pgliteDirectory } from './db/open-database.js';
export { runMigrations } from './db/run-migrations.js';
export {
  isServerStartError,
  ServerStartError,
  type ServerStartErrorCode,
} from './errors/server-start-error.js';
export {
  type GracefulCloseResult,
  type GracefulCloser,
  trackInFlightRequests,
} from './http/graceful-close.js';
export { type InstrumentListenerOptions, instrumentListener } from './http/instrument-listener.js';
export { createRouteLabeler, UNMATCHED_ROUTE } from './http/route-labeler.js';
export { type LoadedServerIdentity, loadServerIdentity } from './identity/load-server-identity.js';
export {
  loadServerKeyHistory,
  type RotatedServerKeys,
  rotateServerKeys,
  SERVER_IDENTITY_FILE,
  SERVER_KEY_HISTORY_FILE,
} from './identity/server-key-history.js';
export {
  type CreateLoggerOptions,
  createLogger,
  LOG_LEVELS,
  type LogLevel,
  type ServerLogger,
} from './logging/create-logger.js';
export { metricsRoute } from './metrics/metrics-route.js';
export {
  type ConsumerLagSample,
  createServerMetrics,
  type IngestionCounts,
  type RequestSample,
  type ServerMetrics,
  type ServerMetricsOptions,
} from './metrics/server-metrics.js';
export { type RunningServer, type StartServerOptions, startServer } from './server/start-server.js';
export {
  type OpenedEventStream,
  openEventStream,
  parseStreamSetting,
  type StreamSetting,
} from './stream/open-event-stream.js';
export { startRelay } from './stream/start-relay.js';
export { type LoadedTls, loadTlsFiles, type ServerTlsOptions } from './tls/load-tls-files.js';
export {
  type RunningWorkers,
  type RunWorkersOptions,
  runWorkers,
} from './worker/run-workers.js';
export {
  type RunningWorker,
  WORKERS,
  type WorkerContext,
  type WorkerStart,
} from './worker/worker-registry.js';
