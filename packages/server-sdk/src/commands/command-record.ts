import type { Command, commandRecordSchema } from '@fieldline/core';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type { CommandsTable } from '../db/database-schema.js';

/**
 * A durable command as the admin API shows it (`GET /v1/admin/commands/:id`,
 * docs/protocol.md §4.7).
 */
export type CommandRecord = z.infer<typeof commandRecordSchema>;

/** Where a command stands in its lifecycle. */
export type CommandStatus = CommandRecord['status'];

/** The statuses a command can still leave: it waits for a delivery or an ack. */
export const OPEN_COMMAND_STATUSES = [
  'pending',
  'sent',
] as const satisfies readonly CommandStatus[];

/**
 * The final statuses a late ack may still replace: the server gave up on the command (its
 * attempts ran out, or its TTL passed) but the device may have run a delivery anyway, and its
 * answer is the truth about what happened. Only for commands delivered at least once.
 */
export const LATE_ACK_STATUSES = ['failed', 'expired'] as const satisfies readonly CommandStatus[];

/** A command record with the tenant it belongs to, for routes that scope by tenant. */
export interface TenantCommandRecord {
  /** The tenant of the command's device. */
  readonly tenantId: string;
  /** The record, as served to admins. */
  readonly record: CommandRecord;
}

/** A stored row of the `commands` table. */
export type CommandRow = Selectable<CommandsTable>;

/**
 * The admin view of a stored command.
 *
 * @param row - the stored row.
 * @returns the record.
 * @internal
 */
export function toCommandRecord(row: CommandRow): CommandRecord {
  return {
    id: row.id,
    deviceId: row.device_id,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    ackedAt: row.acked_at?.toISOString() ?? null,
    reason: row.reason,
  };
}

/**
 * The device's view of a stored command: what a delivery hands over.
 *
 * @param row - the stored row.
 * @returns the command.
 * @internal
 */
export function toDeliveredCommand(
  row: Pick<CommandRow, 'id' | 'type' | 'body' | 'created_at' | 'expires_at'>,
): Command {
  return {
    id: row.id,
    type: row.type,
    ...(row.body === null ? {} : { body: row.body }),
    issuedAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
  };
}
