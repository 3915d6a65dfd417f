import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { commandFinishedNotifications } from '../notifications/command-finished-sql.js';
import { OPEN_COMMAND_STATUSES } from './command-record.js';
import { type CommandStatusChange, statusChange } from './command-status-change.js';

/**
 * Settles every open command (pending or sent) whose TTL has passed as
 * `expired`, across all devices, in one statement (which also writes their
 * `command.finished` notifications). Rows a delivery round
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
  const now = new Date(nowMs).toISOString();
  const { rows } = await sql<{ id: string; device_id: string; tenant_id: string; type: string }>`
    with changed as (
      update commands set status = 'expired'
      where status in (${sql.join(OPEN_COMMAND_STATUSES)}) and expires_at <= ${now}::timestamptz
      returning id, device_id, tenant_id, type, status),
    notified as (${commandFinishedNotifications('changed', now)})
    select id, device_id, tenant_id, type from changed`.execute(db);
  return rows.map((row) => statusChange(row, 'expired'));
}
