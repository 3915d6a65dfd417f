import type { ConsentSnapshot } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { changeDeviceConsent, type DeviceConsentChange } from './change-device-consent.js';
import type { ConsentServiceOptions } from './consent-service-options.js';

/** A withdrawal of consent for one device. */
export interface WithdrawConsentRequest {
  /** The caller's tenant; the device must belong to it. */
  readonly tenantId: string;
  /** The device the consent governs. */
  readonly deviceId: string;
  /**
   * The scopes withdrawn; the rest of the grant stays.
   *
   * @default every scope (from pending: a refusal)
   */
  readonly scopes?: readonly string[];
  /** How the withdrawal was collected. */
  readonly method: 'admin-api' | 'agent-ui';
  /** Who withdrew, for the ledger and the audit log. */
  readonly actor: string;
}

/**
 * Records a withdrawal of consent for a device (all scopes, or some of a live
 * grant): runs the consent machine, and appends the ledger row and the audit
 * row `consent.withdrawn` in one transaction. Push the returned state to the
 * device so it stops collecting at once.
 *
 * @param db - the database, or a transaction to join.
 * @param request - the device, the scopes, how and by whom.
 * @param options - clock, controller, purpose texts, audit step.
 * @returns the device's new consent state.
 * @throws {@link HttpError} `not_found` when the device does not exist or belongs to another tenant.
 * @throws {@link HttpError} `invalid_request` for an empty scope list.
 * @throws {@link HttpError} `conflict` with `details.code` set to the consent machine's code
 *   (`already_withdrawn`, `scope_not_granted`, `not_granted`, `no_policy`…); the duplicate-delivery
 *   codes can be treated as no-ops.
 * @example
 * ```ts
 * const consent = await withdrawConsent(db, { tenantId, deviceId, method: 'agent-ui',
 *   actor: `device:${deviceId}` }, { clock });
 * ```
 */
export async function withdrawConsent(
  db: Kysely<FieldlineDatabase>,
  request: WithdrawConsentRequest,
  options: ConsentServiceOptions = {},
): Promise<ConsentSnapshot> {
  return (await changeDeviceConsent(db, withdrawConsentChange(request), options)).consent;
}

/**
 * The change {@link withdrawConsent} applies, for callers that need the ledger id too.
 *
 * @param request - the withdrawal.
 * @returns the change for `changeDeviceConsent`.
 * @internal
 */
export function withdrawConsentChange(request: WithdrawConsentRequest): DeviceConsentChange {
  return {
    tenantId: request.tenantId,
    deviceId: request.deviceId,
    actor: request.actor,
    method: request.method,
    auditAction: 'consent.withdrawn',
    async buildEvent({ atMs }) {
      if (request.scopes === undefined) return { type: 'withdraw', at: atMs };
      if (request.scopes.length === 0) {
        throw new HttpError(
          'invalid_request',
          'List the scopes to withdraw, or leave the list out to withdraw every scope.',
        );
      }
      return { type: 'withdraw', at: atMs, scopes: [...request.scopes] };
    },
  };
}
