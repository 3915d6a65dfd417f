import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { type CommandStatusChange, statusChange } from './command-status-change.js';

/**
 * Takes back the delivery a round counted for commands that never left the server (the socket
 * closed between the round and the send): `attempts - 1`, and a command whose only delivery
 * that was goes back to `pending` with no `last_sent_at`. Only `sent` commands of the device
 * change, so a command acked or settled meanwhile keeps its state.
 *
 * @param db - the database.
 * @param deviceId - the device the round was for.
 * @param commandIds - the commands taken for it and not sent.
 * @returns the commands that went back to `pending`.
 * @internal
 */
export async function returnUndelivered(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  commandIds: readonly string[],
): Promise<CommandStatusChange[]> {
  if (commandIds.length === 0) return [];
  // Every SET expression reads the row as it was before the update.
  const rows = await db
    .updateTable('commands')
    .set((eb) => ({
      attempts: eb('attempts', '-', 1),
      status: sql<'pending' | 'sent'>`case when attempts <= 1 then 'pending' else status end`,
      last_sent_at: sql<Date | null>`case when attempts <= 1 then null else last_sent_at end`,
    }))
    .where('device_id', '=', deviceId)
    .where('id', 'in', [...commandIds])
    .where('status', '=', 'sent')
    .where('attempts', '>', 0)
    .returning(['id', 'device_id', 'tenant_id', 'type', 'status'])
    .execute();
  return rows.flatMap((row) => (row.status === 'pending' ? [statusChange(row, 'pending')] : []));
}
