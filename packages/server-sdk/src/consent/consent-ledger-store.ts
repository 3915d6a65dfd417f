import {
  type ConsentEvent,
  type ConsentRecord,
  type ConsentState,
  consentStateSchema,
  type PolicyPurposes,
  policyPurposesSchema,
  UNKNOWN_CONSENT_STATE,
} from '@fieldline/core';
import type { Insertable, Kysely } from 'kysely';
import type { ConsentLedgerTable, FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';

/**
 * A stored policy version, as the consent service uses it.
 *
 * @internal
 */
export interface StoredPolicy {
  readonly version: number;
  readonly scopes: readonly string[];
  readonly url: string | null;
  /** What the policy told people per scope; null for a policy published without it. */
  readonly purposes: PolicyPurposes | null;
  /** SHA-256 of the policy text, lowercase hex; null only for rows written outside the service. */
  readonly textSha256: string | null;
}

/**
 * Parses a stored ledger state. Stored rows are untrusted like any input; a
 * malformed one is a server fault, not the client's.
 *
 * @param value - the `state` column.
 * @param deviceId - the device, for the message.
 * @returns the state.
 * @throws {@link HttpError} `internal_error` when the stored state is malformed.
 * @internal
 */
export function parseStoredState(value: unknown, deviceId: string): ConsentState {
  const parsed = consentStateSchema.safeParse(value);
  if (!parsed.success) {
    throw new HttpError(
      'internal_error',
      `The stored consent state of device ${deviceId} is malformed.`,
    );
  }
  return parsed.data;
}

/**
 * Locks a device's row for the rest of the transaction, so consent changes of
 * one device apply one after another, and checks it belongs to the tenant.
 * FOR NO KEY UPDATE leaves foreign-key checks against the row (KEY SHARE) free.
 *
 * @param trx - the transaction.
 * @param tenantId - the caller's tenant.
 * @param deviceId - the device.
 * @throws {@link HttpError} `not_found` when the device does not exist or belongs to another tenant.
 * @internal
 */
export async function lockTenantDevice(
  trx: Kysely<FieldlineDatabase>,
  tenantId: string,
  deviceId: string,
): Promise<void> {
  const device = await trx
    .selectFrom('devices')
    .select('tenant_id')
    .where('id', '=', deviceId)
    .forNoKeyUpdate()
    .executeTakeFirst();
  // One answer for "absent" and "someone else's": a tenant learns nothing about others.
  if (device === undefined || device.tenant_id !== tenantId) {
    throw new HttpError('not_found', `Device ${deviceId} not found.`);
  }
}

/**
 * The device's current consent state: the state of its latest ledger row.
 *
 * @param db - the database or a transaction.
 * @param deviceId - the device.
 * @returns the state, or unknown when the ledger has no row for the device.
 * @throws {@link HttpError} `internal_error` when the stored state is malformed.
 * @internal
 */
export async function loadLatestState(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
): Promise<ConsentState> {
  const row = await db
    .selectFrom('consent_ledger')
    .select('state')
    .where('device_id', '=', deviceId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? UNKNOWN_CONSENT_STATE : parseStoredState(row.state, deviceId);
}

/**
 * Every device of a tenant's current consent state, in one query (the latest
 * ledger row per device) rather than one per device.
 *
 * @param db - the database or a transaction.
 * @param tenantId - the tenant.
 * @returns a lookup by device id; `unknown` for a device without ledger rows.
 * @throws {@link HttpError} `internal_error` when a stored state is malformed (on lookup).
 * @internal
 */
export async function loadLatestStates(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
): Promise<(deviceId: string) => ConsentState> {
  const rows = await db
    .selectFrom('consent_ledger')
    .distinctOn('device_id')
    .select(['device_id', 'state'])
    .where('tenant_id', '=', tenantId)
    .orderBy('device_id')
    .orderBy('seq', 'desc')
    .execute();
  const stored = new Map(rows.map((row) => [row.device_id, row.state]));
  return (deviceId) => {
    const state = stored.get(deviceId);
    return state === undefined ? UNKNOWN_CONSENT_STATE : parseStoredState(state, deviceId);
  };
}

/**
 * Loads one policy version of a tenant, or its latest.
 *
 * @param db - the database or a transaction.
 * @param tenantId - the tenant.
 * @param version - the version; absent for the latest.
 * @returns the policy, or undefined when there is none.
 * @internal
 */
export async function loadPolicy(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
  version?: number,
): Promise<StoredPolicy | undefined> {
  let query = db
    .selectFrom('policies')
    .select(['version', 'scopes', 'url', 'purposes', 'text_sha256'])
    .where('tenant_id', '=', tenantId);
  query =
    version === undefined
      ? query.orderBy('version', 'desc').limit(1)
      : query.where('version', '=', version);
  const row = await query.executeTakeFirst();
  if (row === undefined) return undefined;
  const scopes: unknown = row.scopes;
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
    throw new HttpError(
      'internal_error',
      `The stored scopes of policy v${row.version} of tenant ${tenantId} are malformed.`,
    );
  }
  let purposes: PolicyPurposes | null = null;
  if (row.purposes !== null) {
    const parsed = policyPurposesSchema.safeParse(row.purposes);
    if (!parsed.success) {
      throw new HttpError(
        'internal_error',
        `The stored purposes of policy v${row.version} of tenant ${tenantId} are malformed.`,
      );
    }
    purposes = parsed.data;
  }
  return { version: row.version, scopes, url: row.url, purposes, textSha256: row.text_sha256 };
}

/**
 * Builds the ledger row of one transition.
 *
 * @param fields - the transition and its record.
 * @returns the row to insert; its id is the record's id.
 * @internal
 */
export function ledgerRow(fields: {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly atMs: number;
  readonly event: ConsentEvent;
  readonly state: ConsentState;
  readonly record: ConsentRecord;
  readonly actor: string;
}): Insertable<ConsentLedgerTable> {
  return {
    id: fields.record.recordId,
    tenant_id: fields.tenantId,
    device_id: fields.deviceId,
    at: new Date(fields.atMs).toISOString(),
    event: JSON.stringify(fields.event),
    state: JSON.stringify(fields.state),
    method: fields.record.method,
    actor: fields.actor,
    record: JSON.stringify(fields.record),
  };
}
