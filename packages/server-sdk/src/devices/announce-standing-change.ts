import type { AdminEventHub, DeviceStandingChange } from '../admin-stream/admin-event-hub.js';
import { BUS_TOPICS, type ClusterBus } from '../cluster/cluster-bus.js';
import type { DeviceClosureNotice } from '../realtime/device-closure-notice.js';

/** What {@link announceStandingChange} needs. */
export interface StandingAnnouncementDeps {
  readonly bus: ClusterBus;
  readonly adminEvents: AdminEventHub;
}

/**
 * Tells every instance about a device whose standing changed: when `closure` is given, each
 * closes the device's sockets with its code (`fieldline_closures`); the admin stream gets a
 * `device` event. The change itself is already stored, so a lost notice only delays the
 * close until the gateway's standing check on the device's next frame.
 *
 * @param deps - bus and admin event hub.
 * @param device - the device and its tenant.
 * @param change - what changed, for the admin stream.
 * @param closure - the close code and reason, or undefined to leave sockets open.
 * @param at - when it changed.
 */
export async function announceStandingChange(
  deps: StandingAnnouncementDeps,
  device: { readonly id: string; readonly tenantId: string },
  change: DeviceStandingChange,
  closure: Omit<DeviceClosureNotice, 'deviceId'> | undefined,
  at: Date,
): Promise<void> {
  if (closure !== undefined) {
    await deps.bus.publish(BUS_TOPICS.closures, { deviceId: device.id, ...closure });
  }
  await deps.adminEvents.publish({
    event: 'device',
    data: { deviceId: device.id, tenantId: device.tenantId, change, at: at.toISOString() },
  });
}
