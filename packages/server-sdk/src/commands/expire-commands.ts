import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { OPEN_COMMAND_STATUSES } from './command-record.js';
import { type CommandStatusChange, statusChange } from './command-status-change.js';

/**
 * Settles every open command (pending or sent) whose TTL has passed as
 * `expired`, across all devices, in one statement. Rows a delivery round
 * holds locked are waited for and then checked again, so a command the round
 * settled is never settled twice.
 *
 * @param db - the database.
 * @param nowMs - the time of the sweep, epoch ms.
 * @returns the commands that expired.
 * @internal
 */
export async function expireCommands(
  db: Kysely<FieldlineDatabase>,
  nowMs: number,
): Promise<CommandStatusChange[]> {
  const rows = await db
    .updateTable('commands')
    .set({ status: 'expired' })
    .where('status', 'in', OPEN_COMMAND_STATUSES)
    .where('expires_at', '<=', new Date(nowMs))
    .returning(['id', 'device_id', 'tenant_id', 'type'])
    .execute();
  return rows.map((row) => statusChange(row, 'expired'));
}
