import type { ConsentState } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { loadLatestState } from './consent-ledger-store.js';

/**
 * The device's consent state now: the state of its latest ledger row. No
 * tenant check: call it for a device already authenticated or authorized.
 *
 * @param db - the database or a transaction.
 * @param deviceId - the device.
 * @returns the state, `unknown` when the device has no ledger row.
 * @throws {@link HttpError} `internal_error` when the stored state is malformed.
 * @example
 * ```ts
 * const consent = toConsentSnapshot(await currentConsent(db, device.id));
 * ```
 */
export function currentConsent(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
): Promise<ConsentState> {
  return loadLatestState(db, deviceId);
}
