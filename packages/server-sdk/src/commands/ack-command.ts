import type { CommandAckRequest } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { type CommandRecord, OPEN_COMMAND_STATUSES, toCommandRecord } from './command-record.js';
import { type CommandStatusChange, statusChange } from './command-status-change.js';

/** What an ack did. */
export interface AckOutcome {
  /** The command after the ack. */
  readonly record: CommandRecord;
  /** The status change, absent when the command was already final. */
  readonly change?: CommandStatusChange;
}

/**
 * Records a device's answer to one of its commands (docs/protocol.md §4.7):
 * an open command (pending or sent) becomes `acked` or `rejected` with
 * `acked_at` and the reason; a final one is left as it is.
 *
 * @param db - the database (the ack runs in its own transaction).
 * @param deviceId - the device answering; another device's command is not found.
 * @param commandId - the command.
 * @param answer - `acked` or `rejected`, and an optional reason.
 * @param nowMs - the time of the ack, epoch ms.
 * @returns the outcome, or undefined when the device has no such command.
 * @internal
 */
export function ackCommand(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  commandId: string,
  answer: CommandAckRequest,
  nowMs: number,
): Promise<AckOutcome | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('commands')
      .selectAll()
      .where('id', '=', commandId)
      .where('device_id', '=', deviceId)
      .forUpdate()
      .executeTakeFirst();
    if (row === undefined) return undefined;
    if (!(OPEN_COMMAND_STATUSES as readonly string[]).includes(row.status)) {
      return { record: toCommandRecord(row) };
    }
    const updated = await trx
      .updateTable('commands')
      .set({ status: answer.status, acked_at: new Date(nowMs), reason: answer.reason ?? null })
      .where('id', '=', commandId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { record: toCommandRecord(updated), change: statusChange(updated, answer.status) };
  });
}
