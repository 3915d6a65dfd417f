import { z } from 'zod';
import { consentRecordSchema } from '../consent/consent-record.js';
import { idSchema, publicKeySchema, scopeSchema, tenantSchema, timestampSchema } from './common.js';
import { MAX_CONSENT_LINK_TOKEN_LENGTH } from './consent-link-limits.js';
import { consentSnapshotSchema } from './consent-snapshot.js';
import { policyPurposeSchema } from './policy-purposes.js';
import { reportDaySchema } from './report-api.js';

// The consent page's API (docs/consent-page.md): a device-signed link exchanged for a session
// cookie scoped to that one device, then `/v1/me/...` read and changed with that cookie.

const policyVersionSchema = z.number().int().positive().max(2_147_483_647);

/** The header that carries the consent page's CSRF token on every `POST /v1/me/...`. */
export const CSRF_HEADER = 'x-fieldline-csrf';

/** The cookie that carries the consent page's session (HttpOnly, SameSite=Strict, Path=/v1/me). */
export const CONSENT_PAGE_COOKIE = 'fieldline_device_consent';

/** `POST /v1/consent-link/session` body: the token from the link's `#t=` fragment. */
export const consentLinkSessionRequestSchema = z.strictObject({
  token: z.string().min(1).max(MAX_CONSENT_LINK_TOKEN_LENGTH),
});

/** `POST /v1/consent-link/session` request. */
export type ConsentLinkSessionRequest = z.infer<typeof consentLinkSessionRequestSchema>;

/**
 * `POST /v1/consent-link/session` response (the session itself is in the `Set-Cookie` header,
 * out of the page's reach): the device it is scoped to, and the CSRF token every `POST` under
 * `/v1/me` must send in the {@link CSRF_HEADER} header.
 */
export const consentLinkSessionResponseSchema = z.strictObject({
  deviceId: idSchema,
  tenant: tenantSchema,
  csrfToken: z.string().min(1),
  expiresAt: timestampSchema,
});

/** `POST /v1/consent-link/session` response. */
export type ConsentLinkSessionResponse = z.infer<typeof consentLinkSessionResponseSchema>;

/** The published policy as the consent page shows it, scope by scope. */
export const consentPagePolicySchema = z.strictObject({
  version: policyVersionSchema,
  publishedAt: timestampSchema,
  /** The full policy text. */
  text: z.string(),
  /** SHA-256 of `text` in lowercase hex, as consent receipts carry it. */
  textSha256: z.string().regex(/^[0-9a-f]{64}$/),
  summary: z.string().optional(),
  url: z.string().optional(),
  /** One entry per scope the policy asks for, with the words receipts will carry. */
  scopes: z.array(policyPurposeSchema.extend({ scope: scopeSchema })),
});

/** The published policy as the consent page shows it. */
export type ConsentPagePolicy = z.infer<typeof consentPagePolicySchema>;

/**
 * Where one scope stands for the device: `granted`; `not_granted` (consent is granted for other
 * scopes only); `pending` (the policy asks, nobody answered yet); `withdrawn`; `expired`.
 */
export const scopeConsentStatusSchema = z.enum([
  'granted',
  'not_granted',
  'pending',
  'withdrawn',
  'expired',
]);

/** Where one scope stands for the device. */
export type ScopeConsentStatus = z.infer<typeof scopeConsentStatusSchema>;

/** `GET /v1/me` response: the device, its policy in plain words, and its consent per scope. */
export const consentPageResponseSchema = z.strictObject({
  device: z.strictObject({ id: idSchema, name: z.string(), tenant: tenantSchema }),
  /** The tenant's current policy; null when none is published yet. */
  policy: consentPagePolicySchema.nullable(),
  consent: consentSnapshotSchema,
  scopes: z.array(z.strictObject({ scope: scopeSchema, status: scopeConsentStatusSchema })),
  csrfToken: z.string().min(1),
  sessionExpiresAt: timestampSchema,
});

/** `GET /v1/me` response. */
export type ConsentPageResponse = z.infer<typeof consentPageResponseSchema>;

/**
 * `POST /v1/me/consent` body: grant or withdraw one scope, for the policy version the page
 * showed. A grant adds the scope to those already granted; a grant for another version than
 * the current one is refused (409, `details.code: policy_version_mismatch`).
 */
export const consentPageChangeRequestSchema = z.strictObject({
  scope: scopeSchema,
  action: z.enum(['grant', 'withdraw']),
  policyVersion: policyVersionSchema,
});

/** `POST /v1/me/consent` body. */
export type ConsentPageChangeRequest = z.infer<typeof consentPageChangeRequestSchema>;

/** A consent record signed by the server (`verifyConsentReceipt` in server-sdk checks it). */
export const consentReceiptSchema = z.strictObject({
  record: consentRecordSchema,
  /** Ed25519 over `"fieldline/v1 consent receipt\n"` ‖ the record's RFC 8785 bytes, base64url. */
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'must be 64 bytes as unpadded base64url'),
});

/** A signed consent receipt. */
export type ConsentReceiptBody = z.infer<typeof consentReceiptSchema>;

/** `POST /v1/me/consent` response: the new consent state and the signed receipt of the change. */
export const consentPageChangeResponseSchema = z.strictObject({
  consent: consentSnapshotSchema,
  receipt: consentReceiptSchema,
});

/** `POST /v1/me/consent` response. */
export type ConsentPageChangeResponse = z.infer<typeof consentPageChangeResponseSchema>;

/**
 * `GET /v1/me/receipts` response: the device's signed receipts, newest first, and the server
 * key they verify with.
 */
export const consentPageReceiptsResponseSchema = z.strictObject({
  serverSigningPublicKey: publicKeySchema,
  receipts: z.array(consentReceiptSchema),
});

/** `GET /v1/me/receipts` response. */
export type ConsentPageReceiptsResponse = z.infer<typeof consentPageReceiptsResponseSchema>;

/** `GET /v1/me/activity` query: a range of the tenant's local days (at most 400). */
export const consentPageActivityQuerySchema = z.strictObject({
  from: reportDaySchema,
  to: reportDaySchema,
});

/** `GET /v1/me/activity` query. */
export type ConsentPageActivityQuery = z.infer<typeof consentPageActivityQuerySchema>;

const figureSchema = z.number().int().nonnegative();

/**
 * `GET /v1/me/activity` response: what was collected about the device, summed per day and
 * application (the analytics aggregates); never an event, a window title or any content.
 */
export const consentPageActivityResponseSchema = z.strictObject({
  from: reportDaySchema,
  to: reportDaySchema,
  rows: z.array(
    z.strictObject({
      day: reportDaySchema,
      app: z.string(),
      activeMs: figureSchema,
      idleMs: figureSchema,
      launches: figureSchema,
      bytesIn: figureSchema,
      bytesOut: figureSchema,
    }),
  ),
});

/** `GET /v1/me/activity` response. */
export type ConsentPageActivityResponse = z.infer<typeof consentPageActivityResponseSchema>;
