import { type Clock, type ConsentSnapshot, toConsentSnapshot } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { AdminConsentEvent } from '../admin-stream/admin-event-hub.js';
import { publishAdminEvents } from '../admin-stream/admin-event-hub.js';
import type { ClusterBus } from '../cluster/cluster-bus.js';
import { loadLatestStates } from '../consent/consent-ledger-store.js';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { CommandOutbox, CreatedCommands } from './command-outbox.js';

/** The command types every agent understands (docs/protocol.md §4.5). */
export const BUILT_IN_COMMAND_TYPES = Object.freeze({
  /** `{ consent: ConsentSnapshot }`: stop the withdrawn scopes' collectors at once, purge. */
  consentWithdrawn: 'consent.withdrawn',
  /** `{ consent: ConsentSnapshot }`: apply the snapshot (grant, new policy → pending). */
  consentUpdated: 'consent.updated',
  /** `{}`: refetch `GET /v1/config`. */
  configUpdated: 'config.updated',
  /** Any body: just ack. */
  ping: 'ping',
});

/** What the built-in command helpers need. */
export interface BuiltInCommandDeps {
  readonly db: Kysely<FieldlineDatabase>;
  readonly clock: Clock;
  readonly bus: ClusterBus;
  readonly commands: CommandOutbox;
}

/** One device's consent after a change. */
export interface DeviceConsentNotice {
  readonly tenantId: string;
  readonly deviceId: string;
  /** The snapshot after the change, as the route answered it. */
  readonly consent: ConsentSnapshot;
}

function consentEvent(change: DeviceConsentNotice, atMs: number): AdminConsentEvent {
  return {
    event: 'consent',
    data: {
      deviceId: change.deviceId,
      tenantId: change.tenantId,
      consent: change.consent,
      at: new Date(atMs).toISOString(),
    },
  };
}

/**
 * Tells devices their consent changed: one `consent.withdrawn` or
 * `consent.updated` command each (body `{ consent }`), for active devices
 * only, and one `consent` admin event per device. Call it after the change
 * committed, so a device never hears of a change that was rolled back.
 *
 * @param deps - database, clock, bus and outbox.
 * @param tenantId - the tenant of every device.
 * @param changes - each device and its new snapshot.
 * @param type - `consent.withdrawn` when the change withdrew consent, else `consent.updated`.
 * @returns the commands created.
 * @example
 * ```ts
 * const consent = await withdrawConsent(db, request, options);
 * await announceConsentChanges(deps, tenantId, [{ tenantId, deviceId, consent }], 'consent.withdrawn');
 * ```
 */
export async function announceConsentChanges(
  deps: BuiltInCommandDeps,
  tenantId: string,
  changes: readonly DeviceConsentNotice[],
  type: 'consent.withdrawn' | 'consent.updated',
): Promise<CreatedCommands> {
  const created = await deps.commands.createMany(
    tenantId,
    changes.map((change) => ({
      deviceId: change.deviceId,
      type,
      body: { consent: change.consent },
    })),
  );
  const atMs = deps.clock.now();
  await publishAdminEvents(
    deps.bus,
    changes.map((change) => consentEvent(change, atMs)),
    () => {
      // Best effort like every bus message: the consent itself is in the ledger.
    },
  );
  return created;
}

/**
 * The current consent snapshot of every active device of a tenant, read in
 * one query (the latest ledger row per device) rather than one per device.
 *
 * @param db - the database.
 * @param tenantId - the tenant.
 * @returns each active device with its snapshot, in device id order.
 * @throws {@link HttpError} `internal_error` when a stored state is malformed.
 * @example
 * ```ts
 * const changes = await activeDeviceConsents(db, 'acme');
 * ```
 */
export async function activeDeviceConsents(
  db: Kysely<FieldlineDatabase>,
  tenantId: string,
): Promise<DeviceConsentNotice[]> {
  const [devices, stateOf] = await Promise.all([
    db
      .selectFrom('devices')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active')
      .orderBy('id')
      .execute(),
    loadLatestStates(db, tenantId),
  ]);
  return devices.map(({ id }) => ({
    tenantId,
    deviceId: id,
    consent: toConsentSnapshot(stateOf(id)),
  }));
}

/**
 * Tells devices to refetch their config: a `config.updated` command (body
 * `{}`) for one device, or for every active device of the tenant when the
 * tenant-wide config changed.
 *
 * @param commands - the outbox.
 * @param scope - the tenant, and the device when only its config changed.
 * @returns the commands created (none for a revoked device).
 * @example
 * ```ts
 * await setConfig(db, { tenantId }, config);
 * await announceConfigChange(outbox, { tenantId });
 * ```
 */
export function announceConfigChange(
  commands: CommandOutbox,
  scope: { readonly tenantId: string; readonly deviceId?: string },
): Promise<CreatedCommands> {
  const command = { type: BUILT_IN_COMMAND_TYPES.configUpdated, body: {} };
  return scope.deviceId === undefined
    ? commands.broadcast(scope.tenantId, command)
    : commands.createMany(scope.tenantId, [{ deviceId: scope.deviceId, ...command }]);
}
