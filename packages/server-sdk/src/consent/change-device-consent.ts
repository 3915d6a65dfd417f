import {
  type ConsentEvent,
  type ConsentPurposeInput,
  type ConsentRecordPolicyInput,
  type ConsentSnapshot,
  type ConsentState,
  createConsentRecord,
  toConsentSnapshot,
  transitionConsent,
  transitionConsentOrThrow,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import { runInTransaction } from '../audit/run-in-transaction.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { writeNotification } from '../notifications/write-notification.js';
import {
  ledgerRow,
  loadLatestState,
  loadPolicy,
  lockTenantDevice,
  type StoredPolicy,
} from './consent-ledger-store.js';
import {
  type ConsentServiceOptions,
  nowMs,
  type ResolvedConsentServiceOptions,
  resolveConsentServiceOptions,
} from './consent-service-options.js';

/**
 * What the current state looks like when a change is prepared.
 *
 * @internal
 */
export interface ConsentChangeContext {
  readonly trx: Kysely<FieldlineDatabase>;
  /** The device's state before the change (after catching up with the latest policy). */
  readonly state: ConsentState;
  /** The time of the change, epoch ms. */
  readonly atMs: number;
  /** The tenant's latest policy, if any. */
  readonly latestPolicy: StoredPolicy | undefined;
}

/**
 * One grant or withdrawal of one device.
 *
 * @internal
 */
export interface DeviceConsentChange {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly actor: string;
  readonly method: 'admin-api' | 'agent-ui';
  /** The audit action, also the notification type written to the event stream. */
  readonly auditAction: 'consent.granted' | 'consent.withdrawn';
  /** Builds the event; throws `invalid_request` for a request that makes no sense. */
  buildEvent(context: ConsentChangeContext): Promise<ConsentEvent>;
}

/**
 * What one grant or withdrawal left behind.
 *
 * @internal
 */
export interface DeviceConsentChangeResult {
  /** The device's state after the change. */
  readonly consent: ConsentSnapshot;
  /** The id of the ledger row it appended (its record's `recordId`), for a receipt. */
  readonly ledgerId: string;
}

/**
 * Applies one grant or withdrawal: locks the device, loads its state, runs the
 * consent machine, appends the ledger row, the audit row and the notification
 * (`consent.granted` / `consent.withdrawn`, into the event stream) in one transaction.
 *
 * @param db - the database or a transaction.
 * @param change - the device, the actor and how to build the event.
 * @param options - the service options.
 * @returns the new state, as a snapshot, and the ledger row's id.
 * @throws {@link HttpError} `not_found`, `conflict` (with `details.code`), or what `buildEvent` throws.
 * @internal
 */
export function changeDeviceConsent(
  db: Kysely<FieldlineDatabase>,
  change: DeviceConsentChange,
  options: ConsentServiceOptions,
): Promise<DeviceConsentChangeResult> {
  const { tenantId, deviceId } = change;
  const resolved = resolveConsentServiceOptions(options, tenantId);
  return runInTransaction(db, async (trx) => {
    await lockTenantDevice(trx, tenantId, deviceId);
    const atMs = nowMs(resolved.clock);
    const latestPolicy = await loadPolicy(trx, tenantId);
    let state = await loadLatestState(trx, deviceId);
    if (state.status === 'unknown' && latestPolicy !== undefined) {
      state = await applyPolicy(
        trx,
        { tenantId, deviceId, actor: change.actor, atMs },
        latestPolicy,
        resolved,
      );
    }
    const event = await change.buildEvent({ trx, state, atMs, latestPolicy });
    const next = transitionConsent(state, event);
    if (!next.ok) {
      throw new HttpError('conflict', next.error.message, { details: { code: next.error.code } });
    }
    const to = next.value;
    if (to.status === 'unknown') throw new Error('a consent transition never leads to unknown');
    const policy = await loadPolicy(trx, tenantId, to.policyVersion);
    if (policy === undefined) {
      throw new HttpError(
        'internal_error',
        `Policy v${to.policyVersion} of tenant ${tenantId} is missing.`,
      );
    }
    const record = createConsentRecord({
      from: state,
      event,
      subject: { deviceId },
      controller: resolved.controller,
      policy: policyInput(policy, resolved),
      method: change.method,
      random: resolved.random,
    });
    await trx
      .insertInto('consent_ledger')
      .values(
        ledgerRow({ tenantId, deviceId, atMs, event, state: to, record, actor: change.actor }),
      )
      .execute();
    const consent = toConsentSnapshot(to);
    await resolved.audit(
      trx,
      {
        tenantId,
        actor: change.actor,
        action: change.auditAction,
        subject: `device:${deviceId}`,
        details: {
          ledgerId: record.recordId,
          method: change.method,
          scopes: record.purposes.map((p) => p.scope),
          consent,
        },
      },
      { clock: resolved.clock },
    );
    await writeNotification(trx, tenantId, change.auditAction, {
      deviceId,
      ledgerId: record.recordId,
      method: change.method,
      scopes: record.purposes.map((p) => p.scope),
      consent,
      at: new Date(atMs).toISOString(),
    });
    return { consent, ledgerId: record.recordId };
  });
}

/**
 * Puts a device that has no ledger row under a policy: appends the
 * `policy_published` row (pending) and its audit row. A device enrolled after
 * the latest publication has no row yet, and is under that policy all the same.
 *
 * @param trx - the transaction, with the device row locked.
 * @param target - the device, the actor and the time.
 * @param policy - the policy to apply.
 * @param resolved - the service options.
 * @returns the new (pending) state.
 * @internal
 */
export async function applyPolicy(
  trx: Kysely<FieldlineDatabase>,
  target: {
    readonly tenantId: string;
    readonly deviceId: string;
    readonly actor: string;
    readonly atMs: number;
  },
  policy: StoredPolicy,
  resolved: ResolvedConsentServiceOptions,
): Promise<ConsentState> {
  const { tenantId, deviceId, actor, atMs } = target;
  const from: ConsentState = { status: 'unknown' };
  const event: ConsentEvent = { type: 'policy_published', version: policy.version };
  const to = transitionConsentOrThrow(from, event);
  const record = createConsentRecord({
    from,
    event,
    subject: { deviceId },
    controller: resolved.controller,
    policy: policyInput(policy, resolved),
    at: atMs,
    random: resolved.random,
  });
  await trx
    .insertInto('consent_ledger')
    .values(ledgerRow({ tenantId, deviceId, atMs, event, state: to, record, actor }))
    .execute();
  await resolved.audit(
    trx,
    {
      tenantId,
      actor,
      action: 'consent.policy_applied',
      subject: `device:${deviceId}`,
      details: {
        ledgerId: record.recordId,
        policyVersion: policy.version,
        consent: toConsentSnapshot(to),
      },
    },
    { clock: resolved.clock },
  );
  return to;
}

/**
 * The policy facts a consent record needs: the policy's own purposes (with what is collected
 * and the retention) when it was published with them, else the configured or generic purpose
 * texts; its URL; and the hash of its text.
 *
 * @param policy - the stored policy.
 * @param resolved - the service options (fallback purpose texts).
 * @returns what `createConsentRecord` takes as `policy`.
 * @internal
 */
export function policyInput(
  policy: StoredPolicy,
  resolved: ResolvedConsentServiceOptions,
): ConsentRecordPolicyInput {
  const purposes: Record<string, string | ConsentPurposeInput> =
    policy.purposes === null
      ? resolved.purposesFor(policy.scopes, policy.version)
      : { ...resolved.purposesFor(policy.scopes, policy.version), ...policy.purposes };
  return {
    purposes,
    ...(policy.url === null ? {} : { url: policy.url }),
    ...(policy.textSha256 === null ? {} : { textSha256: policy.textSha256 }),
  };
}
