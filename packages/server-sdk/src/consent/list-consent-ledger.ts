import {
  type ConsentEvent,
  type ConsentRecord,
  type ConsentSnapshot,
  consentEventSchema,
  parseConsentRecord,
  toConsentSnapshot,
} from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { HttpError } from '../http/http-error.js';
import { parseStoredState } from './consent-ledger-store.js';

/** One consent ledger row. */
export interface ConsentLedgerEntry {
  /** The row's id (its record's `recordId`); pass it to `consentReceipt`. */
  readonly id: string;
  /** Position in the ledger (shared by all devices). */
  readonly seq: number;
  /** When the event happened, RFC 3339. */
  readonly at: string;
  /** The consent machine event. */
  readonly event: ConsentEvent;
  /** The state after the event. */
  readonly consent: ConsentSnapshot;
  /** How it came about: `admin-api`, `agent-ui`, `policy-update`, `expiry`. */
  readonly method: string;
  /** Who caused it. */
  readonly actor: string;
  /** The consent record. */
  readonly record: ConsentRecord;
}

/** Whose ledger {@link listConsentLedger} lists. */
export interface ListConsentLedgerRequest {
  /** The caller's tenant. */
  readonly tenantId: string;
  /** The device. */
  readonly deviceId: string;
}

/**
 * Lists a device's consent ledger, oldest first. Rows of other tenants are
 * never returned: another tenant's device has an empty ledger here.
 *
 * @param db - the database or a transaction.
 * @param request - tenant and device.
 * @returns every row of the device's ledger in order.
 * @throws {@link HttpError} `internal_error` when a stored row is malformed.
 * @example
 * ```ts
 * const [latest] = (await listConsentLedger(db, { tenantId, deviceId })).slice(-1);
 * ```
 */
export async function listConsentLedger(
  db: Kysely<FieldlineDatabase>,
  request: ListConsentLedgerRequest,
): Promise<ConsentLedgerEntry[]> {
  const rows = await db
    .selectFrom('consent_ledger')
    .selectAll()
    .where('device_id', '=', request.deviceId)
    .where('tenant_id', '=', request.tenantId)
    .orderBy('seq')
    .execute();
  return rows.map((row) => {
    const event = consentEventSchema.safeParse(row.event);
    const record = parseConsentRecord(row.record);
    if (!event.success || !record.ok) {
      throw new HttpError('internal_error', `Consent ledger entry ${row.id} is malformed.`);
    }
    return {
      id: row.id,
      seq: row.seq,
      at: row.at.toISOString(),
      event: event.data,
      consent: toConsentSnapshot(parseStoredState(row.state, row.device_id)),
      method: row.method,
      actor: row.actor,
      record: record.value,
    };
  });
}
