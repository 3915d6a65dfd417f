/** The HTTP paths of protocol v1. `:id` marks a path parameter. */
export const ROUTES = {
  enroll: '/v1/enroll',
  config: '/v1/config',
  events: '/v1/events',
  reports: '/v1/reports',
  realtime: '/v1/ws',
  commands: '/v1/commands',
  commandAck: '/v1/commands/:id/ack',
  rotateKeys: '/v1/keys/rotate',
  serverKeys: '/v1/server-keys',
  adminInstallTokens: '/v1/admin/install-tokens',
  adminInstallToken: '/v1/admin/install-tokens/:id',
  adminInstallTokenRevoke: '/v1/admin/install-tokens/:id/revoke',
  adminDevices: '/v1/admin/devices',
  adminDevice: '/v1/admin/devices/:id',
  adminDeviceConsent: '/v1/admin/devices/:id/consent',
  adminDeviceEvents: '/v1/admin/devices/:id/events',
  adminDeviceReports: '/v1/admin/devices/:id/reports',
  adminDeviceCommands: '/v1/admin/devices/:id/commands',
  adminDeviceRevoke: '/v1/admin/devices/:id/revoke',
  adminDeviceRotateKeys: '/v1/admin/devices/:id/rotate-keys',
  adminDeviceRelease: '/v1/admin/devices/:id/release',
  adminPolicies: '/v1/admin/policies',
  adminConfig: '/v1/admin/config',
  adminConsentReceipt: '/v1/admin/consent-receipts/:id',
  adminBroadcast: '/v1/admin/commands/broadcast',
  adminCommand: '/v1/admin/commands/:id',
  adminAudit: '/v1/admin/audit',
  adminAuditVerify: '/v1/admin/audit/verify',
  adminDeadLetters: '/v1/admin/dead-letters',
  adminDeadLetterReplay: '/v1/admin/dead-letters/:id/replay',
  adminStream: '/v1/admin/stream',
  activityReport: '/v1/reports/activity',
  complianceReport: '/v1/reports/compliance',
  auditReport: '/v1/reports/audit',
  health: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
} as const;

/** The name of a protocol route. */
export type RouteName = keyof typeof ROUTES;

/** The protocol version this package speaks. */
export const PROTOCOL_VERSION = 1;
