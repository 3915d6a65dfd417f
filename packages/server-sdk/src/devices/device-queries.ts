import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/** A device as the admin API lists it. */
export interface DeviceSummary {
  readonly id: string;
  readonly tenant: string;
  readonly hostname: string;
  readonly os: string;
  readonly arch: string;
  readonly status: 'active' | 'revoked';
  readonly online: boolean;
  readonly lastSeen: string | null;
  readonly enrolledAt: string;
}

// docs/protocol.md §4.3: online while a socket is held and the last sign of life is
// within the (default) heartbeat timeout; the gateway refreshes last_seen every 25 s, and
// a crashed instance's devices drop out once their last_seen ages past this window.
const ONLINE_WINDOW_MS = 60_000;

function summarize(
  row: {
    id: string;
    tenant_id: string;
    hostname: string;
    os: string;
    arch: string;
    status: 'active' | 'revoked';
    last_seen_at: Date | null;
    connected_at: Date | null;
    enrolled_at: Date;
  },
  nowMs: number,
): DeviceSummary {
  return {
    id: row.id,
    tenant: row.tenant_id,
    hostname: row.hostname,
    os: row.os,
    arch: row.arch,
    status: row.status,
    online:
      row.connected_at !== null &&
      row.last_seen_at !== null &&
      nowMs - row.last_seen_at.getTime() < ONLINE_WINDOW_MS,
    lastSeen: row.last_seen_at?.toISOString() ?? null,
    enrolledAt: row.enrolled_at.toISOString(),
  };
}

const SUMMARY_COLUMNS = [
  'id',
  'tenant_id',
  'hostname',
  'os',
  'arch',
  'status',
  'last_seen_at',
  'connected_at',
  'enrolled_at',
] as const;

/**
 * Lists devices, newest first.
 *
 * @param db - the database.
 * @param tenantId - limit to one tenant; `null` for all (operator).
 * @param nowMs - now, for the online flag.
 */
export async function listDevices(
  db: Kysely<FieldlineDatabase>,
  tenantId: string | null,
  nowMs: number,
): Promise<DeviceSummary[]> {
  let query = db
    .selectFrom('devices')
    .select(SUMMARY_COLUMNS)
    .orderBy('enrolled_at', 'desc')
    .limit(1000);
  if (tenantId !== null) query = query.where('tenant_id', '=', tenantId);
  return (await query.execute()).map((row) => summarize(row, nowMs));
}

/**
 * Reads one device with its keys, counts and drop totals.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @param nowMs - now, for the online flag.
 * @returns the device, or undefined.
 */
export async function getDeviceDetail(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  nowMs: number,
) {
  const row = await db
    .selectFrom('devices')
    .select([
      ...SUMMARY_COLUMNS,
      'signing_public_key',
      'encryption_public_key',
      'drops',
      'revoked_at',
      'clone_suspected_at',
      'quarantined_at',
      'rotation_required_at',
      'keys_rotated_at',
    ])
    .where('id', '=', deviceId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const [events, commands] = await Promise.all([
    db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('device_id', '=', deviceId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('commands')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('device_id', '=', deviceId)
      .where('status', 'in', ['pending', 'sent'])
      .executeTakeFirstOrThrow(),
  ]);
  return {
    ...summarize(row, nowMs),
    publicKeys: {
      signingPublicKey: row.signing_public_key,
      encryptionPublicKey: row.encryption_public_key,
    },
    drops: row.drops,
    eventsStored: Number(events.count),
    pendingCommands: Number(commands.count),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    cloneSuspectedAt: row.clone_suspected_at?.toISOString() ?? null,
    quarantinedAt: row.quarantined_at?.toISOString() ?? null,
    keyRotationRequired: row.rotation_required_at !== null,
    keysRotatedAt: row.keys_rotated_at?.toISOString() ?? null,
  };
}

/**
 * The latest stored events of a device, newest first.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @param limit - at most this many (1–1000).
 */
export async function listDeviceEvents(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  limit: number,
) {
  const rows = await db
    .selectFrom('events')
    .select(['id', 'type', 'scope', 'seq', 'occurred_at', 'received_at', 'data'])
    .where('device_id', '=', deviceId)
    .orderBy('occurred_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    scope: row.scope,
    seq: row.seq,
    occurredAt: row.occurred_at.toISOString(),
    receivedAt: row.received_at.toISOString(),
    data: row.data,
  }));
}

/**
 * The tenant a device belongs to.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @returns the tenant id, or undefined for an unknown device.
 */
export async function deviceTenant(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('devices')
    .select('tenant_id')
    .where('id', '=', deviceId)
    .executeTakeFirst();
  return row?.tenant_id;
}
