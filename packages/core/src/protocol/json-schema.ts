import { z } from 'zod';
import { eventEnvelopeSchema } from '../schema/envelope.js';
import {
  changePasswordRequestSchema,
  createUserRequestSchema,
  listUsersResponseSchema,
  loginRequestSchema,
  sessionResponseSchema,
  setupRequestSchema,
  switchTenantRequestSchema,
  updateUserRequestSchema,
  userSchema,
} from './account-api.js';
import {
  auditEntrySchema,
  auditVerifyResponseSchema,
  broadcastCommandRequestSchema,
  broadcastCommandResponseSchema,
  commandRecordSchema,
  consentActionRequestSchema,
  createCommandRequestSchema,
  createCommandResponseSchema,
  createInstallTokenRequestSchema,
  createInstallTokenResponseSchema,
  createPolicyRequestSchema,
  deadLetterSchema,
  deviceDetailSchema,
  deviceStandingResponseSchema,
  listDeadLettersResponseSchema,
  listDevicesResponseSchema,
  listInstallTokensResponseSchema,
  replayDeadLetterResponseSchema,
  revokeDeviceResponseSchema,
  setConfigRequestSchema,
} from './admin-api.js';
import { sealedBodySchema } from './common.js';
import {
  consentLinkSessionRequestSchema,
  consentLinkSessionResponseSchema,
  consentPageActivityResponseSchema,
  consentPageChangeRequestSchema,
  consentPageChangeResponseSchema,
  consentPageReceiptsResponseSchema,
  consentPageResponseSchema,
  consentReceiptSchema,
} from './consent-page-api.js';
import { consentSnapshotSchema } from './consent-snapshot.js';
import {
  commandAckRequestSchema,
  commandSchema,
  commandsResponseSchema,
  enrollRequestSchema,
  enrollResponseSchema,
  eventBatchSchema,
  eventsResponseSchema,
  jobReportSchema,
  reportResponseSchema,
  rotateKeysRequestSchema,
  rotateKeysResponseSchema,
} from './device-api.js';
import { deviceConfigSchema } from './device-config.js';
import { errorBodySchema } from './error-body.js';
import {
  commandFinishedNotificationSchema,
  consentNotificationSchema,
  devicePresenceNotificationSchema,
  eventsRefusedNotificationSchema,
  policyPublishedNotificationSchema,
  webhookBodySchema,
  webhookEndpointDisabledNotificationSchema,
  webhookTestNotificationSchema,
} from './notifications.js';
import { realtimeFrameSchema } from './realtime.js';
import { activityReportSchema, auditReportSchema, complianceReportSchema } from './report-api.js';
import { serverKeysResponseSchema } from './server-keys.js';
import {
  createWebhookRequestSchema,
  listWebhookDeliveriesResponseSchema,
  listWebhooksResponseSchema,
  rotateWebhookSecretRequestSchema,
  updateWebhookRequestSchema,
  webhookDeliverySchema,
  webhookEndpointSchema,
  webhookWithSecretSchema,
} from './webhook-api.js';

/** Every wire schema of protocol v1, by the name used in docs/schema. */
export const protocolSchemas = {
  ErrorBody: errorBodySchema,
  EventEnvelope: eventEnvelopeSchema,
  SealedBody: sealedBodySchema,
  EnrollRequest: enrollRequestSchema,
  EnrollResponse: enrollResponseSchema,
  DeviceConfig: deviceConfigSchema,
  ConsentSnapshot: consentSnapshotSchema,
  EventBatch: eventBatchSchema,
  EventsResponse: eventsResponseSchema,
  JobReport: jobReportSchema,
  ReportResponse: reportResponseSchema,
  Command: commandSchema,
  CommandsResponse: commandsResponseSchema,
  CommandAckRequest: commandAckRequestSchema,
  CreateInstallTokenRequest: createInstallTokenRequestSchema,
  CreateInstallTokenResponse: createInstallTokenResponseSchema,
  ListDevicesResponse: listDevicesResponseSchema,
  ListInstallTokensResponse: listInstallTokensResponseSchema,
  RevokeDeviceResponse: revokeDeviceResponseSchema,
  DeviceStandingResponse: deviceStandingResponseSchema,
  RotateKeysRequest: rotateKeysRequestSchema,
  RotateKeysResponse: rotateKeysResponseSchema,
  ServerKeysResponse: serverKeysResponseSchema,
  DeviceDetail: deviceDetailSchema,
  ConsentActionRequest: consentActionRequestSchema,
  SetConfigRequest: setConfigRequestSchema,
  CreatePolicyRequest: createPolicyRequestSchema,
  CreateCommandRequest: createCommandRequestSchema,
  BroadcastCommandRequest: broadcastCommandRequestSchema,
  BroadcastCommandResponse: broadcastCommandResponseSchema,
  CreateCommandResponse: createCommandResponseSchema,
  CommandRecord: commandRecordSchema,
  AuditEntry: auditEntrySchema,
  AuditVerifyResponse: auditVerifyResponseSchema,
  DeadLetter: deadLetterSchema,
  ListDeadLettersResponse: listDeadLettersResponseSchema,
  ReplayDeadLetterResponse: replayDeadLetterResponseSchema,
  ActivityReport: activityReportSchema,
  ComplianceReport: complianceReportSchema,
  AuditReport: auditReportSchema,
  RealtimeFrame: realtimeFrameSchema,
  WebhookBody: webhookBodySchema,
  CreateWebhookRequest: createWebhookRequestSchema,
  UpdateWebhookRequest: updateWebhookRequestSchema,
  WebhookEndpoint: webhookEndpointSchema,
  WebhookWithSecret: webhookWithSecretSchema,
  RotateWebhookSecretRequest: rotateWebhookSecretRequestSchema,
  ListWebhooksResponse: listWebhooksResponseSchema,
  WebhookDelivery: webhookDeliverySchema,
  ListWebhookDeliveriesResponse: listWebhookDeliveriesResponseSchema,
  ConsentNotification: consentNotificationSchema,
  PolicyPublishedNotification: policyPublishedNotificationSchema,
  DevicePresenceNotification: devicePresenceNotificationSchema,
  CommandFinishedNotification: commandFinishedNotificationSchema,
  EventsRefusedNotification: eventsRefusedNotificationSchema,
  WebhookEndpointDisabledNotification: webhookEndpointDisabledNotificationSchema,
  WebhookTestNotification: webhookTestNotificationSchema,
  LoginRequest: loginRequestSchema,
  SessionResponse: sessionResponseSchema,
  SwitchTenantRequest: switchTenantRequestSchema,
  ChangePasswordRequest: changePasswordRequestSchema,
  SetupRequest: setupRequestSchema,
  User: userSchema,
  CreateUserRequest: createUserRequestSchema,
  UpdateUserRequest: updateUserRequestSchema,
  ListUsersResponse: listUsersResponseSchema,
  ConsentLinkSessionRequest: consentLinkSessionRequestSchema,
  ConsentLinkSessionResponse: consentLinkSessionResponseSchema,
  ConsentPageResponse: consentPageResponseSchema,
  ConsentPageChangeRequest: consentPageChangeRequestSchema,
  ConsentPageChangeResponse: consentPageChangeResponseSchema,
  ConsentPageReceiptsResponse: consentPageReceiptsResponseSchema,
  ConsentPageActivityResponse: consentPageActivityResponseSchema,
  ConsentReceipt: consentReceiptSchema,
} as const;

/**
 * JSON Schema (draft 2020-12) of every wire schema, for clients in other
 * languages. `npm run docs` writes it to docs/schema/protocol.json.
 *
 * @returns one JSON Schema document whose `$defs` hold each named schema.
 */
export function protocolJsonSchema(): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(protocolSchemas)) {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
      unrepresentable: 'any',
    }) as Record<string, unknown>;
    defs[name] = rest;
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://fieldline.dev/schema/protocol-v1.json',
    title: 'Fieldline protocol v1',
    $defs: defs,
  };
}
