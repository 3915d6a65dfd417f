import {
  type ConsentPagePolicy,
  type ConsentPageResponse,
  type ConsentState,
  policyTextSha256,
  type ScopeConsentStatus,
  toConsentSnapshot,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { policyInput } from '../consent/change-device-consent.js';
import { loadLatestState, loadPolicy } from '../consent/consent-ledger-store.js';
import {
  type ConsentServiceOptions,
  resolveConsentServiceOptions,
} from '../consent/consent-service-options.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { type ConsentPageSession, consentPageCsrfToken } from './consent-page-sessions.js';

/**
 * Where one scope of the policy stands for a device, from its consent state.
 *
 * @param state - the device's consent state.
 * @param scope - a scope of the policy.
 * @returns the scope's status.
 */
export function scopeStatus(state: ConsentState, scope: string): ScopeConsentStatus {
  switch (state.status) {
    case 'granted':
      return state.scopes.includes(scope) ? 'granted' : 'not_granted';
    case 'withdrawn':
    case 'expired':
      return state.status;
    default:
      return 'pending';
  }
}

/**
 * The tenant's latest policy as the page shows it: its text and summary, and per scope the very
 * words a consent record will carry (the policy's own purposes, else the configured or generic
 * ones), so what the person reads is what their receipt proves.
 *
 * @param db - the database.
 * @param tenantId - the tenant.
 * @param options - the consent service options (fallback purpose texts).
 * @returns the policy, or null when the tenant has none.
 */
export async function consentPagePolicy(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
  options: ConsentServiceOptions,
): Promise<ConsentPagePolicy | null> {
  const policy = await loadPolicy(db, tenantId);
  if (policy === undefined) return null;
  const row = await db
    .selectFrom('policies')
    .select(['text', 'summary', 'created_at'])
    .where('tenant_id', '=', tenantId)
    .where('version', '=', policy.version)
    .executeTakeFirstOrThrow();
  const input = policyInput(policy, resolveConsentServiceOptions(options, tenantId));
  return {
    version: policy.version,
    publishedAt: row.created_at.toISOString(),
    text: row.text,
    textSha256: policy.textSha256 ?? policyTextSha256(row.text),
    ...(row.summary === null ? {} : { summary: row.summary }),
    ...(policy.url === null ? {} : { url: policy.url }),
    scopes: policy.scopes.map((scope) => {
      const given = input.purposes[scope];
      return typeof given === 'object'
        ? { scope, ...given }
        : { scope, purpose: given ?? `Collect ${scope} data.` };
    }),
  };
}

/**
 * The body of `GET /v1/me`: the session's device, the tenant's policy in plain words, the
 * device's consent and each scope's status, and the session's CSRF token.
 *
 * @param db - the database.
 * @param session - the authenticated session.
 * @param options - the consent service options.
 * @returns the body.
 */
export async function consentPageView(
  db: Kysely<FieldlineDatabase>,
  session: ConsentPageSession,
  options: ConsentServiceOptions,
): Promise<ConsentPageResponse> {
  const [policy, state] = await Promise.all([
    consentPagePolicy(db, session.tenantId, options),
    loadLatestState(db, session.deviceId),
  ]);
  return {
    device: { id: session.deviceId, name: session.deviceName, tenant: session.tenantId },
    policy,
    consent: toConsentSnapshot(state),
    scopes: (policy?.scopes ?? []).map(({ scope }) => ({
      scope,
      status: scopeStatus(state, scope),
    })),
    csrfToken: consentPageCsrfToken(session.token),
    sessionExpiresAt: session.expiresAt.toISOString(),
  };
}
