// @fieldline/server-sdk: the backend side of Fieldline as composable pieces.
// Exports are listed by name so the public surface is reviewed, never implied.

export { AccountError, type AccountErrorCode, isAccountError } from './accounts/account-error.js';
export {
  type AccountServices,
  type AccountsOptions,
  createAccountServices,
} from './accounts/account-services.js';
export {
  createLoginThrottle,
  DEFAULT_LOGIN_RATE_LIMIT,
  type LoginRateLimit,
  type LoginThrottle,
  type LoginThrottleVerdict,
} from './accounts/login-throttle.js';
export {
  DEFAULT_PASSWORD_HASH_PARAMS,
  decoyPasswordHash,
  hashPassword,
  needsRehash,
  type ParsedPasswordHash,
  type PasswordHashParams,
  parsePasswordHash,
  verifyPassword,
} from './accounts/password-hash.js';
export { originAllowed } from './accounts/request-origin.js';
export {
  readCookie,
  SESSION_COOKIE_NAME,
  type SessionCookieOptions,
  sessionCookie,
} from './accounts/session-cookie.js';
export {
  createSessionGate,
  isMutatingMethod,
  type SessionGate,
  type SessionGateOptions,
} from './accounts/session-gate.js';
export { type IssueSetupTokenOptions, issueSetupToken } from './accounts/setup-tokens.js';
export {
  type ActiveSession,
  type CreatedSession,
  createUserSession,
  csrfTokenFor,
  DEFAULT_SESSION_POLICY,
  deleteUserSession,
  findUserSession,
  type SessionLookup,
  type SessionPolicy,
  setSessionTenant,
} from './accounts/user-sessions.js';
export {
  type AccountChangeOptions,
  changeOwnPassword,
  countUsers,
  createUser,
  deleteUser,
  findLoginUser,
  getUser,
  type LoginUser,
  listUsers,
  type NewUser,
  normalizeEmail,
  type UserChange,
  type UserRecord,
  updateUser,
} from './accounts/user-store.js';
export {
  type AdminCommandEvent,
  type AdminConsentEvent,
  type AdminDeviceEvent,
  type AdminEventFilter,
  type AdminEventHub,
  type AdminEventListener,
  type AdminPresenceEvent,
  type AdminStreamEvent,
  type AdminStreamEventName,
  createAdminEventHub,
  type DeviceStandingChange,
} from './admin-stream/admin-event-hub.js';
export {
  type ActivityAggregationOptions,
  type ActivityRow,
  DEFAULT_MAX_OPEN_INTERVAL_MS,
  type DeviceActivityEvent,
} from './analytics/activity-row.js';
export { affectedDays } from './analytics/affected-days.js';
export { aggregateActivity } from './analytics/aggregate-activity.js';
export {
  type AnalyticsConsumer,
  type AnalyticsConsumerOptions,
  type AnalyticsLogger,
  createAnalyticsConsumer,
} from './analytics/create-analytics-consumer.js';
export { ACTIVITY_LOOK_AHEAD_MS } from './analytics/day-windows.js';
export {
  type RecomputeActivityRange,
  type RecomputeActivityResult,
  recomputeActivity,
} from './analytics/recompute-activity.js';
export {
  type ActivityPeriod,
  type ActivityRollupOptions,
  type ActivityRollupRow,
  rollupActivity,
} from './analytics/rollup-activity.js';
export {
  setTenantAnalyticsSettings,
  type TenantAnalyticsSettingsChange,
  type TenantAnalyticsSettingsUpdate,
} from './analytics/set-tenant-analytics-settings.js';
export {
  DEFAULT_TENANT_ANALYTICS_SETTINGS,
  readTenantAnalyticsSettings,
  type TenantAnalyticsSettings,
} from './analytics/tenant-analytics-settings.js';
export { adminAuditRoutes } from './app/admin-audit-routes.js';
export { adminCommandRoutes } from './app/admin-command-routes.js';
export { adminConsentRoutes } from './app/admin-consent-routes.js';
export { adminDeadLetterRoutes } from './app/admin-dead-letter-routes.js';
export { adminActor, adminDeviceStandingRoutes } from './app/admin-device-standing-routes.js';
export { adminInstallTokenRoutes } from './app/admin-install-token-routes.js';
export { type AdminReportOptions, adminReportRoutes } from './app/admin-report-routes.js';
export { adminDeviceRoutes } from './app/admin-routes.js';
export { type AdminStreamOptions, adminStreamRoutes } from './app/admin-stream-routes.js';
export { adminWebhookRoutes } from './app/admin-webhook-routes.js';
export type { AppContext } from './app/app-context.js';
export { authRoutes } from './app/auth-routes.js';
export { type ConsentPageOptions, consentPageRoutes } from './app/consent-page-routes.js';
export {
  createFieldlineApp,
  type FieldlineApp,
  type FieldlineAppOptions,
} from './app/create-fieldline-app.js';
export { deviceCommandRoutes } from './app/device-command-routes.js';
export { deviceDataRoutes } from './app/device-data-routes.js';
export { deviceKeyRoutes } from './app/device-key-routes.js';
export { deviceRoutes } from './app/device-routes.js';
export { healthRoutes, type ReadyCheck, type ReadyCheckResult } from './app/health-routes.js';
export { userRoutes } from './app/user-routes.js';
export type { AppendAuditOptions } from './audit/append-audit.js';
export { AUDIT_LOCK_KEY, appendAudit } from './audit/append-audit.js';
export {
  AUDIT_CHECKPOINT_DOMAIN,
  type AuditCheckpoint,
  type ParsedAuditCheckpoint,
  parseAuditCheckpoint,
  signAuditCheckpoint,
} from './audit/audit-checkpoint.js';
export type { AuditCheckpointSink } from './audit/audit-checkpoint-sink.js';
export {
  type AuditCheckpointer,
  type AuditCheckpointerOptions,
  type AuditCheckpointOutcome,
  type AuditCheckpointState,
  type AuditDivergence,
  type AuditHead,
  createAuditCheckpointer,
} from './audit/audit-checkpointer.js';
export type { AuditEntry, NewAuditEntry } from './audit/audit-entry.js';
export type { AuditHashInput } from './audit/audit-hash.js';
export { AUDIT_GENESIS_HASH, computeAuditHash } from './audit/audit-hash.js';
export {
  createFileCheckpointSink,
  type FileCheckpointSinkOptions,
} from './audit/file-checkpoint-sink.js';
export type { ListAuditOptions } from './audit/list-audit.js';
export { listAudit, MAX_AUDIT_PAGE } from './audit/list-audit.js';
export {
  createMemoryCheckpointSink,
  type MemoryCheckpointSink,
} from './audit/memory-checkpoint-sink.js';
export type { AuditVerifyResult, VerifyAuditLogOptions } from './audit/verify-audit-log.js';
export { verifyAuditLog } from './audit/verify-audit-log.js';
export {
  type AdminAuthenticator,
  type AdminCredential,
  type AdminPrincipal,
  type AdminPrincipalUser,
  assertTenantAccess,
  createAdminAuthenticator,
} from './auth/admin-auth.js';
export {
  createAdminOrSessionAuthenticator,
  sessionPrincipal,
} from './auth/admin-or-session-auth.js';
export { type AuthenticatedDevice, authenticateDevice } from './auth/device-auth.js';
export {
  bearerToken,
  generateSecretToken,
  hashSecretToken,
  secretsEqual,
} from './auth/secret-tokens.js';
export { MAX_BUS_PAYLOAD_BYTES } from './cluster/bus-payload.js';
export {
  BUS_TOPICS,
  type BusListener,
  type BusTopic,
  type ClusterBus,
} from './cluster/cluster-bus.js';
export { createMemoryBus } from './cluster/memory-bus.js';
export {
  createPostgresBus,
  type PostgresBus,
  type PostgresBusOptions,
} from './cluster/postgres-bus.js';
export type { DeviceAck } from './commands/ack-command.js';
export {
  activeDeviceConsents,
  announceConfigChange,
  announceConsentChanges,
  BUILT_IN_COMMAND_TYPES,
  type BuiltInCommandDeps,
  type DeviceConsentNotice,
} from './commands/built-in-commands.js';
export { commandAdminEvent } from './commands/command-admin-event.js';
export {
  type CommandNotice,
  commandNotices,
  MAX_COMMAND_NOTICE_BYTES,
  parseCommandNotice,
} from './commands/command-notice.js';
export {
  type CommandOutbox,
  type CommandOutboxDefaults,
  type CommandOutboxOptions,
  type CreatedCommands,
  createCommandOutbox,
  type DeviceCommand,
  type NewCommand,
  type TakeForDeliveryOptions,
} from './commands/command-outbox.js';
export type {
  CommandRecord,
  CommandStatus,
  TenantCommandRecord,
} from './commands/command-record.js';
export { type ResolvedConfig, resolveDeviceConfig, setConfig } from './config/config-service.js';
export { DEFAULT_DEVICE_CONFIG } from './config/default-device-config.js';
export type { DeviceConsentHistory } from './consent/consent-history.js';
export { consentHistory } from './consent/consent-history.js';
export type { ConsentReceipt, ConsentReceiptRequest } from './consent/consent-receipt.js';
export {
  CONSENT_RECEIPT_SIGNATURE_DOMAIN,
  consentReceipt,
  signConsentReceipt,
  verifyConsentReceipt,
} from './consent/consent-receipt.js';
export type { ConsentAuditStep, ConsentServiceOptions } from './consent/consent-service-options.js';
export { currentConsent } from './consent/current-consent.js';
export type { GrantConsentRequest } from './consent/grant-consent.js';
export { grantConsent } from './consent/grant-consent.js';
export type { InitializeConsentRequest } from './consent/initialize-consent.js';
export { initializeConsent } from './consent/initialize-consent.js';
export type {
  ConsentLedgerEntry,
  ListConsentLedgerRequest,
} from './consent/list-consent-ledger.js';
export { listConsentLedger } from './consent/list-consent-ledger.js';
export type { PublishedPolicy, PublishPolicyRequest } from './consent/publish-policy.js';
export { publishPolicy } from './consent/publish-policy.js';
export type { WithdrawConsentRequest } from './consent/withdraw-consent.js';
export { withdrawConsent } from './consent/withdraw-consent.js';
export {
  type ConsentLinkExchange,
  type ExchangeConsentLinkOptions,
  exchangeConsentLink,
} from './consent-page/exchange-consent-link.js';
export { createDatabase, type DatabaseOptions, type FieldlineDb } from './db/create-database.js';
export {
  DatabaseDriverError,
  type DatabaseDriverErrorCode,
  isDatabaseDriverError,
} from './db/database-driver-error.js';
export type {
  AggregatesTable,
  AnalyticsAppliedTable,
  AnyJson,
  AuditLogTable,
  CommandsTable,
  ConfigsTable,
  ConsentLedgerTable,
  ConsentLinkNoncesTable,
  ConsentPageSessionsTable,
  ConsentRefusalsTable,
  CreatedAt,
  DeadLettersTable,
  DeviceDayTotalsTable,
  DevicesTable,
  DeviceTokensTable,
  EventsTable,
  FieldlineDatabase,
  InstallTokensTable,
  Json,
  LoginAttemptsTable,
  OutboxRelayLeasesTable,
  OutboxTable,
  PoliciesTable,
  ReportsTable,
  SeenMessagesTable,
  SessionsTable,
  SetupTokensTable,
  StreamConsumersTable,
  TenantAggregatesTable,
  TenantSettingsTable,
  TenantsTable,
  Timestamp,
  UserRolesTable,
  UserSessionsTable,
  UsersTable,
  WebhookAttemptLogEntry,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
} from './db/database-schema.js';
export {
  DATABASE_RETRY_AFTER_SECONDS,
  databaseUnavailable,
  isDatabaseUnavailableError,
} from './db/database-unavailable.js';
export { migrateToLatest, migrations } from './db/migrate.js';
export { PGliteDialect, type PGliteLike } from './db/pglite-dialect.js';
export {
  type DeadLetterStatusFilter,
  type ListDeadLettersOptions,
  listDeadLetters,
  MAX_DEAD_LETTER_PAGE,
} from './dead-letters/list-dead-letters.js';
export {
  type ReplayDeadLetterOptions,
  replayDeadLetter,
} from './dead-letters/replay-dead-letter.js';
export {
  type DeviceSummary,
  deviceTenant,
  getDeviceDetail,
  listDeviceEvents,
  listDevices,
} from './devices/device-queries.js';
export {
  DEVICE_STANDING_COLUMNS,
  type DeviceRefusal,
  type DeviceStandingColumns,
  deviceRefusal,
  readDeviceRefusal,
} from './devices/device-standing.js';
export {
  type DeviceStandingResult,
  releaseDevice,
  requireKeyRotation,
  type StandingChangeOptions,
} from './devices/device-standing-changes.js';
export { createLastSeenTracker, type LastSeenTracker } from './devices/last-seen.js';
export {
  type RevokeDeviceOptions,
  type RevokeDeviceResult,
  revokeDevice,
} from './devices/revoke-device.js';
export {
  type RotateDeviceKeysDeps,
  type RotatedKeys,
  rotateDeviceKeys,
} from './devices/rotate-device-keys.js';
export { type EnrollDeviceOptions, enrollDevice } from './enrollment/enroll-device.js';
export { type CreateInstallTokenOptions, createInstallToken } from './enrollment/install-tokens.js';
export {
  getInstallToken,
  type InstallTokenSummary,
  listInstallTokens,
  revokeInstallToken,
} from './enrollment/manage-install-tokens.js';
export { answerClientErrors, type ClientErrorSource } from './http/answer-client-errors.js';
export type { BodyLimits } from './http/body-limits.js';
export { type FetchHandler, toFetchHandler } from './http/fetch-adapter.js';
export { HttpError, isHttpError } from './http/http-error.js';
export { json, parseJson, readJsonBody, validate } from './http/json-body.js';
export { type NodeRequestListener, toNodeListener } from './http/node-adapter.js';
export { createRouter, type RouterOptions } from './http/router.js';
export { isFieldlineStream } from './http/stream-body.js';
export type {
  FieldlineHandler,
  FieldlineRequest,
  FieldlineResponse,
  FieldlineStream,
  FieldlineStreamSink,
  Route,
  RouteParams,
} from './http/types.js';
export {
  type ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  createConcurrencyLimiter,
  type ReleaseSlot,
} from './ingestion/concurrency-limiter.js';
export {
  createDatabaseReplayGuard,
  type DatabaseReplayGuardOptions,
} from './ingestion/database-replay-guard.js';
export {
  type DefaultIngestionDeps,
  defaultIngestionSteps,
} from './ingestion/default-ingestion-steps.js';
export {
  createIngestionContext,
  type EnrichedEvent,
  type IngestionContext,
  type IngestionDevice,
  type IngestionEntry,
  type IngestionEntryStatus,
  type IngestionInput,
  type IngestionResult,
  pendingEntries,
  rejectEntry,
  requireBatch,
} from './ingestion/ingestion-context.js';
export {
  createIngestionPipeline,
  type IngestionNext,
  type IngestionPipeline,
  type IngestionStep,
  ingestionStep,
  runIngestion,
} from './ingestion/pipeline.js';
export {
  insertStepAfter,
  insertStepBefore,
  removeStep,
  replaceStep,
} from './ingestion/step-list.js';
export { createBuildResultsStep } from './ingestion/steps/build-results.js';
export {
  type CheckConsentStepOptions,
  type ConsentHistory,
  type ConsentHistorySource,
  type ConsentRefusalAuditEntry,
  createCheckConsentStep,
} from './ingestion/steps/check-consent.js';
export {
  type CountConsentRefusalsStepOptions,
  createCountConsentRefusalsStep,
} from './ingestion/steps/count-consent-refusals.js';
export {
  createDeadLetterStep,
  type DeadLetterStepOptions,
  type EventsDeadLetter,
} from './ingestion/steps/dead-letter.js';
export { createDedupBatchStep } from './ingestion/steps/dedup-batch.js';
export { createEnrichEventsStep } from './ingestion/steps/enrich-events.js';
export {
  createLoadSheddingStep,
  type LoadSheddingStepOptions,
} from './ingestion/steps/load-shedding.js';
export {
  createMeasureIngestionStep,
  type IngestionSummary,
  type MeasureIngestionStepOptions,
} from './ingestion/steps/measure-ingestion.js';
export { createOpenBatchStep, type OpenBatchStepOptions } from './ingestion/steps/open-batch.js';
export { createParseBatchStep } from './ingestion/steps/parse-batch.js';
export { createRateLimitStep, type RateLimitStepOptions } from './ingestion/steps/rate-limit.js';
export { createSizeLimitStep, type SizeLimitStepOptions } from './ingestion/steps/size-limit.js';
export {
  createStoreEventsStep,
  type EventsIngestedMessage,
  type StoreEventsStepOptions,
} from './ingestion/steps/store-events.js';
export {
  createValidateEventsStep,
  type EventValidator,
  type ValidateEventsStepOptions,
} from './ingestion/steps/validate-events.js';
export {
  createTokenBucketLimiter,
  type TokenBucketDecision,
  type TokenBucketLimiter,
  type TokenBucketLimiterOptions,
} from './ingestion/token-bucket.js';
export { writeNotification } from './notifications/write-notification.js';
export type { ChannelHandler, ChannelMessage, ChannelSender } from './realtime/channel-handlers.js';
export {
  type ConnectionClosed,
  createRealtimeGateway,
  type HandshakeRefused,
  type PresenceChange,
  type RealtimeGateway,
  type RealtimeGatewayEvents,
} from './realtime/create-realtime-gateway.js';
export type { RealtimeGatewayOptions } from './realtime/gateway-options.js';
export type { HandshakeRefusal } from './realtime/handshake-admission.js';
export {
  RealtimeRemoteError,
  RealtimeRequestError,
  type RealtimeRequestErrorCode,
} from './realtime/realtime-errors.js';
export {
  addressSource,
  type ForwardedForSourceOptions,
  forwardedForSource,
  type RequestSourceOf,
  remoteAddressSource,
  type UpgradeRequestLike,
} from './realtime/request-source.js';
export type { StandingGuardOptions } from './realtime/standing-guard.js';
export {
  type ActivityReportBodyOptions,
  type ActivitySource,
  activityGeneration,
  activityReportBody,
  activitySource,
} from './reports/activity-report.js';
export {
  type AuditReportBodyOptions,
  auditGeneration,
  auditReportBody,
} from './reports/audit-report.js';
export { complianceGeneration, complianceReportBody } from './reports/compliance-report.js';
export { type CsvValue, csvLine } from './reports/csv-line.js';
export {
  type CachedReport,
  createReportCache,
  type ReportCache,
  type ReportCacheOptions,
} from './reports/report-cache.js';
export {
  normalizeReportQuery,
  parseReportQuery,
  resolveReportTenant,
} from './reports/report-query.js';
export {
  type AnswerReportOptions,
  answerReport,
  matchesIfNoneMatch,
  type ReportBody,
  reportEtag,
  reportHeaders,
} from './reports/report-response.js';
export { listDeviceReports, storeReport } from './reports/report-store.js';
export { tenantTimeZone } from './reports/tenant-time-zone.js';
export {
  type EnforceRetentionOptions,
  enforceRetention,
  RETENTION_LOCK_KEY,
  type RetentionReport,
} from './retention/enforce-retention.js';
export {
  DAY_MS,
  DEFAULT_EVENT_PARTITION,
  eventIdLowerBound,
  eventPartitionDay,
  eventPartitionName,
  utcDayStart,
} from './retention/event-partitions.js';
export {
  createRetentionJob,
  type RetentionJob,
  type RetentionJobOptions,
} from './retention/retention-job.js';
export { type OpenDeviceFrameOptions, openDeviceFrame } from './sealing/open-device-frame.js';
export {
  createServerKeyRing,
  type PreviousServerKey,
  type ServerKeyHistory,
  type ServerKeyRing,
} from './sealing/server-key-ring.js';
export {
  createJetStreamStream,
  type JetStreamErrorContext,
  type JetStreamEventStream,
  type JetStreamStreamOptions,
} from './stream/create-jetstream-stream.js';
export {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelayStatus,
} from './stream/create-outbox-relay.js';
export {
  createOutboxStream,
  type OutboxStreamErrorContext,
  type OutboxStreamOptions,
} from './stream/create-outbox-stream.js';
export type {
  EventStream,
  StreamConsumerHandle,
  StreamDelivery,
  StreamHandler,
  StreamLag,
  StreamRecord,
} from './stream/event-stream.js';
export { outboxMessageId, RECORD_HEADERS } from './stream/nats-record.js';
export type { OutboxPublisher } from './stream/outbox-publisher.js';
export { escapeSubjectToken, recordSubject } from './stream/stream-subject.js';
export type { WebhookAttemptOutcome } from './webhooks/attempt-delivery.js';
export { createWebhookEnqueueHandler } from './webhooks/enqueue-deliveries.js';
export type { WebhookPostOptions, WebhookPostResult } from './webhooks/post-webhook.js';
export { postWebhook } from './webhooks/post-webhook.js';
export type { WebhookRetrySchedule } from './webhooks/retry-schedule.js';
export { createWebhookSecretBox, type WebhookSecretBox } from './webhooks/secret-box.js';
export { isPrivateAddress } from './webhooks/webhook-address-guard.js';
export type { WebhookDeliveryOptions } from './webhooks/webhook-delivery-policy.js';
export {
  generateWebhookSecret,
  signWebhook,
  verifyWebhookSignature,
  type WebhookSignatureHeaders,
} from './webhooks/webhook-signature.js';
export type { WebhookDelivery, WebhookEndpoint } from './webhooks/webhook-views.js';
export {
  startWebhookWorker,
  type WebhookWorker,
  type WebhookWorkerOptions,
} from './webhooks/webhook-worker.js';
