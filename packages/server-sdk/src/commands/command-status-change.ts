import type { CommandStatus } from './command-record.js';

/**
 * A command whose status changed, with what the admin stream event needs.
 *
 * @internal
 */
export interface CommandStatusChange {
  readonly id: string;
  readonly device_id: string;
  readonly tenant_id: string;
  readonly type: string;
  /** The new status. */
  readonly status: CommandStatus;
}

/**
 * The change of `command` to `status`.
 *
 * @param command - the command's stored columns (extra columns are left out).
 * @param status - its new status.
 * @returns the change.
 * @internal
 */
export function statusChange(
  command: Omit<CommandStatusChange, 'status'>,
  status: CommandStatus,
): CommandStatusChange {
  return {
    id: command.id,
    device_id: command.device_id,
    tenant_id: command.tenant_id,
    type: command.type,
    status,
  };
}
