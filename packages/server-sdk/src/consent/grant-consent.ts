import type { ConsentSnapshot } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { changeDeviceConsent, type DeviceConsentChange } from './change-device-consent.js';
import { loadPolicy } from './consent-ledger-store.js';
import type { ConsentServiceOptions } from './consent-service-options.js';

/** A grant of consent for one device. */
export interface GrantConsentRequest {
  /** The caller's tenant; the device must belong to it. */
  readonly tenantId: string;
  /** The device the consent governs. */
  readonly deviceId: string;
  /**
   * The scopes granted; each must be one of the policy's scopes.
   *
   * @default every scope of the policy
   */
  readonly scopes?: readonly string[];
  /**
   * The policy version the subject was shown; it must be the device's current one.
   *
   * @default the tenant's latest version
   */
  readonly policyVersion?: number;
  /** When the grant lapses: epoch ms or an RFC 3339 timestamp; must be in the future. */
  readonly expiresAt?: number | string;
  /**
   * Add `scopes` to those already granted under the same policy version (keeping that grant's
   * expiry unless `expiresAt` is given) instead of replacing them: how a person grants one scope
   * at a time. Read under the device's lock, so concurrent grants of different scopes all count.
   *
   * @default false
   */
  readonly keepGranted?: boolean;
  /** How the grant was collected. */
  readonly method: 'admin-api' | 'agent-ui';
  /** Who granted, for the ledger and the audit log (`admin`, `device:<id>`). */
  readonly actor: string;
}

/**
 * Records a grant of consent for a device: runs the consent machine from the
 * device's current state, and appends the ledger row (with its consent record)
 * and the audit row `consent.granted` in one transaction. A device with no
 * ledger row is first put under the tenant's latest policy (a
 * `consent.policy_applied` row), since enrollment may not have written one.
 *
 * @param db - the database, or a transaction to join.
 * @param request - the device, the scopes, the policy version, the expiry, how and by whom.
 * @param options - clock, controller, purpose texts, audit step.
 * @returns the device's new consent state.
 * @throws {@link HttpError} `not_found` when the device does not exist or belongs to another tenant.
 * @throws {@link HttpError} `invalid_request` for empty scopes, scopes outside the policy, or a
 *   bad or past `expiresAt`.
 * @throws {@link HttpError} `conflict` with `details.code` set to the consent machine's code
 *   (`no_policy`, `policy_version_mismatch`, `out_of_order`…) when the grant is illegal now.
 * @example
 * ```ts
 * const consent = await grantConsent(db, { tenantId: 'acme', deviceId, method: 'admin-api',
 *   actor: 'admin' }, { clock, controller: { name: 'Acme GmbH' } });
 * ```
 */
export async function grantConsent(
  db: Kysely<FieldlineDatabase>,
  request: GrantConsentRequest,
  options: ConsentServiceOptions = {},
): Promise<ConsentSnapshot> {
  return (await changeDeviceConsent(db, grantConsentChange(request), options)).consent;
}

/**
 * The change {@link grantConsent} applies, for callers that need the ledger id too.
 *
 * @param request - the grant.
 * @returns the change for `changeDeviceConsent`.
 * @internal
 */
export function grantConsentChange(request: GrantConsentRequest): DeviceConsentChange {
  return {
    tenantId: request.tenantId,
    deviceId: request.deviceId,
    actor: request.actor,
    method: request.method,
    auditAction: 'consent.granted',
    async buildEvent({ trx, state, atMs, latestPolicy }) {
      const requested = request.policyVersion;
      if (requested !== undefined && (!Number.isSafeInteger(requested) || requested < 1)) {
        throw new HttpError('invalid_request', 'policyVersion must be a positive integer.', {
          details: { policyVersion: requested },
        });
      }
      const version = requested ?? latestPolicy?.version;
      if (version === undefined) {
        throw new HttpError('conflict', `Tenant ${request.tenantId} has no policy to consent to.`, {
          details: { code: 'no_policy' },
        });
      }
      const policy =
        version === latestPolicy?.version
          ? latestPolicy
          : await loadPolicy(trx, request.tenantId, version);
      if (policy === undefined) {
        throw new HttpError('conflict', `Policy version ${version} does not exist.`, {
          details: { code: 'policy_version_mismatch' },
        });
      }
      const scopes = request.scopes ?? policy.scopes;
      if (scopes.length === 0) {
        throw new HttpError('invalid_request', 'A grant needs at least one scope.');
      }
      const offered = new Set(policy.scopes);
      const unknownScopes = scopes.filter((scope) => !offered.has(scope));
      if (unknownScopes.length > 0) {
        throw new HttpError(
          'invalid_request',
          `Policy v${version} does not ask for scope(s): ${unknownScopes.join(', ')}.`,
          { details: { unknownScopes, policyScopes: [...policy.scopes] } },
        );
      }
      let expiresAt = parseExpiresAt(request.expiresAt, atMs);
      let granted = [...scopes];
      if (
        request.keepGranted === true &&
        state.status === 'granted' &&
        state.policyVersion === version
      ) {
        granted = [...new Set([...state.scopes, ...scopes])];
        // Adding a scope must not lift a time limit someone set on the grant.
        if (expiresAt === undefined && state.expiresAt !== undefined && state.expiresAt > atMs) {
          expiresAt = state.expiresAt;
        }
      }
      return expiresAt === undefined
        ? { type: 'grant', policyVersion: version, scopes: granted, at: atMs }
        : { type: 'grant', policyVersion: version, scopes: granted, at: atMs, expiresAt };
    },
  };
}

function parseExpiresAt(value: number | string | undefined, atMs: number): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new HttpError('invalid_request', 'expiresAt must be an RFC 3339 timestamp or epoch ms.', {
      details: { expiresAt: value },
    });
  }
  if (ms <= atMs) {
    throw new HttpError('invalid_request', 'expiresAt must be in the future.', {
      details: { expiresAt: new Date(ms).toISOString() },
    });
  }
  return ms;
}
