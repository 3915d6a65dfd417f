import { REALTIME_CLOSE_CODES } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** The columns of `devices` that decide whether a device may speak. */
export interface DeviceStandingColumns {
  readonly status: 'active' | 'revoked';
  readonly quarantined_at: Date | null;
  readonly rotation_required_at: Date | null;
}

/** Why a device is refused on every path (docs/protocol.md §5), with its HTTP and close codes. */
export interface DeviceRefusal {
  readonly code: 'device_revoked' | 'device_quarantined' | 'key_rotation_required';
  readonly closeCode: number;
  readonly message: string;
}

/** The `devices` columns {@link deviceRefusal} reads, for selects. */
export const DEVICE_STANDING_COLUMNS = [
  'status',
  'quarantined_at',
  'rotation_required_at',
] as const satisfies ReadonlyArray<keyof DeviceStandingColumns>;

const REVOKED: DeviceRefusal = {
  code: 'device_revoked',
  closeCode: REALTIME_CLOSE_CODES.deviceRevoked,
  message: 'This device was revoked; stop sending and keep local data.',
};

const QUARANTINED: DeviceRefusal = {
  code: 'device_quarantined',
  closeCode: REALTIME_CLOSE_CODES.deviceQuarantined,
  message:
    'This device is quarantined: two holders of its keys kept displacing each other. An admin must revoke it, or force a key rotation and release it.',
};

const ROTATE: DeviceRefusal = {
  code: 'key_rotation_required',
  closeCode: REALTIME_CLOSE_CODES.keyRotationRequired,
  message:
    'The server requires new device keys: rotate them with POST /v1/keys/rotate, then retry.',
};

/**
 * Decides whether a device is refused, in the order revoked, quarantined, rotation required.
 *
 * @param row - the device's standing columns.
 * @param options - `rotating`: the request is the key rotation itself, which a required
 *   rotation must let through.
 * @returns the refusal, or undefined when the device may go on.
 */
export function deviceRefusal(
  row: DeviceStandingColumns,
  options: { readonly rotating?: boolean } = {},
): DeviceRefusal | undefined {
  if (row.status === 'revoked') return REVOKED;
  if (row.quarantined_at !== null) return QUARANTINED;
  if (row.rotation_required_at !== null && options.rotating !== true) return ROTATE;
  return undefined;
}

/**
 * Reads a device's standing from the database.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @returns the refusal, `undefined` when it may go on; a missing device counts as revoked.
 */
export async function readDeviceRefusal(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
): Promise<DeviceRefusal | undefined> {
  const row = await db
    .selectFrom('devices')
    .select(DEVICE_STANDING_COLUMNS)
    .where('id', '=', deviceId)
    .executeTakeFirst();
  return row === undefined ? REVOKED : deviceRefusal(row);
}
