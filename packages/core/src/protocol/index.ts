export {
  activityReportSchema,
  auditEntrySchema,
  auditVerifyResponseSchema,
  broadcastCommandRequestSchema,
  commandRecordSchema,
  commandStatusSchema,
  consentActionRequestSchema,
  createCommandRequestSchema,
  createInstallTokenRequestSchema,
  createInstallTokenResponseSchema,
  createPolicyRequestSchema,
  deviceDetailSchema,
  deviceSummarySchema,
  listDevicesResponseSchema,
  setConfigRequestSchema,
} from './admin-api.js';
export {
  idSchema,
  type PublicKeys,
  publicKeySchema,
  publicKeysSchema,
  type SealedBody,
  scopeSchema,
  sealedBodySchema,
  tenantSchema,
  timestampSchema,
} from './common.js';
export {
  type ConsentSnapshot,
  consentSnapshotSchema,
  fromConsentSnapshot,
  toConsentSnapshot,
} from './consent-snapshot.js';
export {
  type Command,
  commandSchema,
  consentScopesSchema,
  type DropCounts,
  dropCountsSchema,
  type EnrollRequest,
  type EnrollResponse,
  type EventBatch,
  type EventResult,
  type EventsResponse,
  enrollRequestSchema,
  enrollResponseSchema,
  eventBatchSchema,
  eventResultSchema,
  eventsResponseSchema,
  type JobReport,
  jobReportSchema,
  type ReportResponse,
  reportResponseSchema,
} from './device-api.js';
export {
  collectorConfigSchema,
  type DeviceConfig,
  deviceConfigSchema,
  scheduledJobSchema,
} from './device-config.js';
export {
  type ErrorBody,
  errorBody,
  errorBodySchema,
  HTTP_ERROR_STATUS,
  type HttpErrorCode,
} from './error-body.js';
export { protocolJsonSchema, protocolSchemas } from './json-schema.js';
export {
  ackFrameSchema,
  channelMessageFrameSchema,
  commandFrameSchema,
  errorFrameSchema,
  heartbeatFrameSchema,
  helloFrameSchema,
  type RealtimeFrame,
  realtimeFrameSchema,
  welcomeFrameSchema,
} from './realtime.js';
export { PROTOCOL_VERSION, ROUTES, type RouteName } from './routes.js';
