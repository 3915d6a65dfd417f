import { requestJson } from './request-json.js';
import {
  CONSENT_CSRF_HEADER,
  type ConsentPageChangeResponse,
  type ConsentPageResponse,
  consentLinkSessionResponseSchema,
  consentPageChangeResponseSchema,
  consentPageResponseSchema,
  ROUTES,
} from './schemas.js';

/**
 * Exchanges the device-signed link's token for the consent page's session (a cookie scoped to
 * `/v1/me`). A link opens one session only.
 *
 * @param token - from the link's `#t=`.
 */
export async function openConsentSession(token: string): Promise<void> {
  await requestJson({
    method: 'POST',
    path: ROUTES.consentLinkSession,
    body: { token },
    schema: consentLinkSessionResponseSchema,
  });
}

/**
 * The device, its policy in plain words and its consent per scope.
 *
 * @returns `GET /v1/me`.
 */
export function fetchConsentPage(): Promise<ConsentPageResponse> {
  return requestJson({ path: ROUTES.me, schema: consentPageResponseSchema });
}

/**
 * Grants or withdraws one scope for the policy version the page shows.
 *
 * @param page - the page as last fetched (CSRF token and policy version).
 * @param scope - the scope.
 * @param action - `grant` or `withdraw`.
 * @returns the new consent and the signed receipt.
 */
export function changeConsent(
  page: ConsentPageResponse,
  scope: string,
  action: 'grant' | 'withdraw',
): Promise<ConsentPageChangeResponse> {
  return requestJson({
    method: 'POST',
    path: ROUTES.meConsent,
    headers: { [CONSENT_CSRF_HEADER]: page.csrfToken },
    body: { scope, action, policyVersion: page.policy?.version },
    schema: consentPageChangeResponseSchema,
  });
}
