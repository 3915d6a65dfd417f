import {
  CSRF_HEADER,
  consentLinkSessionRequestSchema,
  consentPageActivityQuerySchema,
  consentPageChangeRequestSchema,
  parseConsentRecord,
  publicKeysOf,
  ROUTES,
} from '@fieldline/core';
import { announceConsentChanges, BUILT_IN_COMMAND_TYPES } from '../commands/built-in-commands.js';
import { changeDeviceConsent } from '../consent/change-device-consent.js';
import { consentReceipt, signConsentReceipt } from '../consent/consent-receipt.js';
import { grantConsentChange } from '../consent/grant-consent.js';
import { withdrawConsentChange } from '../consent/withdraw-consent.js';
import { consentPageCookie, consentPageSessionToken } from '../consent-page/consent-page-cookie.js';
import {
  authenticateConsentPage,
  type ConsentPageSession,
  csrfTokenMatches,
  DEFAULT_CONSENT_PAGE_SESSION_TTL_MS,
} from '../consent-page/consent-page-sessions.js';
import { consentPageView } from '../consent-page/consent-page-view.js';
import { deviceActivitySummary } from '../consent-page/device-activity-summary.js';
import { exchangeConsentLink } from '../consent-page/exchange-consent-link.js';
import { HttpError } from '../http/http-error.js';
import { json, readJsonBody } from '../http/json-body.js';
import type { FieldlineRequest, FieldlineResponse, Route } from '../http/types.js';
import { parseReportQuery } from '../reports/report-query.js';
import type { AppContext } from './app-context.js';

/** Options of {@link consentPageRoutes}. */
export interface ConsentPageOptions {
  /**
   * How long a session opened by a consent link lasts, in ms (also the cookie's `Max-Age`).
   * @default 1_800_000 (30 minutes)
   */
  readonly sessionTtlMs?: number;
  /**
   * Tolerated difference between a device's clock and the server's when checking a link's
   * `iat` and `exp`, in ms.
   * @default 60_000
   */
  readonly maxSkewMs?: number;
  /**
   * Whether the session cookie is `Secure`. By default it is when the request arrived over TLS;
   * set `true` behind a proxy that terminates TLS.
   * @default request.secure
   */
  readonly secureCookie?: boolean;
}

// Receipts listed by `GET /v1/me/receipts`: a device's ledger grows by a row per publication and
// per change, so the newest suffice for a page.
const MAX_RECEIPTS = 100;

// Answers under /v1/me are about one person's device: never cached by a browser or a proxy.
const PRIVATE = { 'cache-control': 'no-store' } as const;

function privateJson(status: number, body: unknown): FieldlineResponse {
  const response = json(status, body);
  return { ...response, headers: { ...response.headers, ...PRIVATE } };
}

/**
 * The API of the employee's consent page (docs/consent-page.md). `POST /v1/consent-link/session`
 * exchanges a device-signed link for an HttpOnly, SameSite=Strict session cookie scoped to that
 * one device; `/v1/me`, `/v1/me/consent`, `/v1/me/receipts` and `/v1/me/activity` then read and
 * change that device's consent with the cookie (every `POST` also needs the CSRF header). A
 * change made here goes through the consent service and reaches the running agent exactly like
 * one made through the admin API, audited with actor `device-user:<deviceId>`.
 *
 * @param context - the shared context.
 * @param options - session lifetime, clock skew, cookie security.
 * @returns the routes.
 * @example
 * ```ts
 * createFieldlineApp({ db, serverIdentity, adminCredentials, consentPage: { secureCookie: true } });
 * ```
 */
export function consentPageRoutes(context: AppContext, options: ConsentPageOptions = {}): Route[] {
  const { db, clock } = context;
  const consentOptions = { ...context.consentOptions, clock };
  const sessionTtlMs = options.sessionTtlMs ?? DEFAULT_CONSENT_PAGE_SESSION_TTL_MS;

  const session = (request: FieldlineRequest): Promise<ConsentPageSession> =>
    authenticateConsentPage(db, consentPageSessionToken(request), clock.now());

  // Checked after the session (a stranger gets 401, not a hint about CSRF) and before the body.
  const changingSession = async (request: FieldlineRequest): Promise<ConsentPageSession> => {
    const current = await session(request);
    if (!csrfTokenMatches(current, request.header(CSRF_HEADER))) {
      throw new HttpError(
        'csrf_failed',
        `Send the page's CSRF token (from GET ${ROUTES.me}) in the ${CSRF_HEADER} header.`,
      );
    }
    return current;
  };

  return [
    {
      method: 'POST',
      path: ROUTES.consentLinkSession,
      async handle(request) {
        const body = readJsonBody(request, consentLinkSessionRequestSchema);
        const exchanged = await exchangeConsentLink(db, body.token, {
          clock,
          sessionTtlMs,
          ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
        });
        const cookie = consentPageCookie(exchanged.sessionToken, {
          maxAgeSeconds: Math.floor(sessionTtlMs / 1000),
          secure: options.secureCookie ?? request.secure === true,
        });
        const response = privateJson(200, {
          deviceId: exchanged.deviceId,
          tenant: exchanged.tenantId,
          csrfToken: exchanged.csrfToken,
          expiresAt: exchanged.expiresAt.toISOString(),
        });
        return { ...response, headers: { ...response.headers, 'set-cookie': cookie } };
      },
    },
    {
      method: 'GET',
      path: ROUTES.me,
      async handle(request) {
        return privateJson(200, await consentPageView(db, await session(request), consentOptions));
      },
    },
    {
      method: 'POST',
      path: ROUTES.meConsent,
      async handle(request) {
        const current = await changingSession(request);
        const body = readJsonBody(request, consentPageChangeRequestSchema);
        const { tenantId, deviceId } = current;
        const common = {
          tenantId,
          deviceId,
          scopes: [body.scope],
          method: 'agent-ui' as const,
          actor: `device-user:${deviceId}`,
        };
        // A withdrawal is honoured whatever version the page showed; a grant only for the
        // version in force (the consent service answers 409 policy_version_mismatch otherwise).
        const change =
          body.action === 'grant'
            ? grantConsentChange({
                ...common,
                policyVersion: body.policyVersion,
                keepGranted: true,
              })
            : withdrawConsentChange(common);
        const { consent, ledgerId } = await changeDeviceConsent(db, change, consentOptions);
        // After the commit, the same push as the admin route's: the running agent hears it now.
        await announceConsentChanges(
          context,
          tenantId,
          [{ tenantId, deviceId, consent }],
          body.action === 'withdraw'
            ? BUILT_IN_COMMAND_TYPES.consentWithdrawn
            : BUILT_IN_COMMAND_TYPES.consentUpdated,
        );
        const receipt = await consentReceipt(db, { tenantId, ledgerId }, context.serverIdentity);
        return privateJson(200, { consent, receipt });
      },
    },
    {
      method: 'GET',
      path: ROUTES.meReceipts,
      async handle(request) {
        const current = await session(request);
        const rows = await db
          .selectFrom('consent_ledger')
          .select(['id', 'record'])
          .where('device_id', '=', current.deviceId)
          .where('tenant_id', '=', current.tenantId)
          .orderBy('seq', 'desc')
          .limit(MAX_RECEIPTS)
          .execute();
        const receipts = rows.map((row) => {
          const record = parseConsentRecord(row.record);
          if (!record.ok) {
            throw new HttpError('internal_error', `Consent ledger entry ${row.id} is malformed.`);
          }
          return signConsentReceipt(record.value, context.serverIdentity);
        });
        return privateJson(200, {
          serverSigningPublicKey: publicKeysOf(context.serverIdentity).signingPublicKey,
          receipts,
        });
      },
    },
    {
      method: 'GET',
      path: ROUTES.meActivity,
      async handle(request) {
        const current = await session(request);
        const range = parseReportQuery(request, consentPageActivityQuerySchema);
        return privateJson(200, await deviceActivitySummary(db, current, range));
      },
    },
  ];
}
