import type { AdminCommandEvent } from '../admin-stream/admin-event-hub.js';
import type { CommandStatus } from './command-record.js';

/**
 * Builds the admin stream event (docs/protocol.md §4.8) of a command that was
 * created or changed status, for `fieldline_admin_events`.
 *
 * @param command - the command (stored column names) and its new status.
 * @param atMs - when the status changed, epoch ms.
 * @returns the event.
 * @example
 * ```ts
 * await bus.publish(BUS_TOPICS.adminEvents, commandAdminEvent(row, clock.now()));
 * ```
 */
export function commandAdminEvent(
  command: {
    readonly id: string;
    readonly device_id: string;
    readonly tenant_id: string;
    readonly type: string;
    readonly status: CommandStatus;
  },
  atMs: number,
): AdminCommandEvent {
  return {
    event: 'command',
    data: {
      id: command.id,
      deviceId: command.device_id,
      tenantId: command.tenant_id,
      type: command.type,
      status: command.status,
      at: new Date(atMs).toISOString(),
    },
  };
}
