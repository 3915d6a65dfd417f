import { type ConsentSnapshot, toConsentSnapshot } from '@fieldline/core';
import type { Kysely } from 'kysely';
import { runInTransaction } from '../audit/run-in-transaction.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { applyPolicy } from './change-device-consent.js';
import { loadLatestState, loadPolicy, lockTenantDevice } from './consent-ledger-store.js';
import {
  type ConsentServiceOptions,
  nowMs,
  resolveConsentServiceOptions,
} from './consent-service-options.js';

/** The device whose consent {@link initializeConsent} starts. */
export interface InitializeConsentRequest {
  /** The device's tenant. */
  readonly tenantId: string;
  /** The device, already inserted. */
  readonly deviceId: string;
  /**
   * Who caused it, for the ledger and the audit log.
   *
   * @default 'system'
   */
  readonly actor?: string;
}

/**
 * Starts a newly enrolled device's consent: when the tenant has a policy and
 * the device no ledger row, appends the row that puts it in pending on the
 * latest policy (audited as `consent.policy_applied`). Idempotent: a device
 * that already has a ledger row, or a tenant without a policy, is left as is.
 * Call it in the enrollment transaction (it fits `EnrollDeviceOptions.initialConsent`).
 *
 * @param db - the database, or a transaction to join.
 * @param request - the tenant and device.
 * @param options - clock, controller, purpose texts, audit step.
 * @returns the device's consent state afterwards.
 * @throws {@link HttpError} `not_found` when the device does not exist or belongs to another tenant.
 * @example
 * ```ts
 * enrollDevice(db, token, body, { clock, serverIdentity, initialConsent: (trx, device) =>
 *   initializeConsent(trx, { tenantId: device.tenantId, deviceId: device.id }, { clock }) });
 * ```
 */
export function initializeConsent(
  db: Kysely<FieldlineDatabase>,
  request: InitializeConsentRequest,
  options: ConsentServiceOptions = {},
): Promise<ConsentSnapshot> {
  const { tenantId, deviceId } = request;
  const resolved = resolveConsentServiceOptions(options, tenantId);
  return runInTransaction(db, async (trx) => {
    await lockTenantDevice(trx, tenantId, deviceId);
    const state = await loadLatestState(trx, deviceId);
    if (state.status !== 'unknown') return toConsentSnapshot(state);
    const policy = await loadPolicy(trx, tenantId);
    if (policy === undefined) return toConsentSnapshot(state);
    const target = {
      tenantId,
      deviceId,
      actor: request.actor ?? 'system',
      atMs: nowMs(resolved.clock),
    };
    return toConsentSnapshot(await applyPolicy(trx, target, policy, resolved));
  });
}
