// The API's shapes, from core's protocol modules themselves. They are imported by path rather
// than from `@fieldline/core`'s entry point so the browser bundle takes the zod schemas only,
// not core's Node parts (node:crypto sealing and signing).
export {
  PASSWORD_MIN_LENGTH,
  type SessionResponse,
  sessionResponseSchema,
} from '../../../core/src/protocol/account-api.js';
export {
  createInstallTokenResponseSchema,
  deviceSummarySchema,
  listDevicesResponseSchema,
} from '../../../core/src/protocol/admin-api.js';
export {
  type ConsentPageChangeResponse,
  type ConsentPageResponse,
  type ConsentReceiptBody,
  CSRF_HEADER as CONSENT_CSRF_HEADER,
  consentLinkSessionResponseSchema,
  consentPageChangeResponseSchema,
  consentPageResponseSchema,
} from '../../../core/src/protocol/consent-page-api.js';
export { errorBodySchema } from '../../../core/src/protocol/error-body.js';
export { ROUTES } from '../../../core/src/protocol/routes.js';
