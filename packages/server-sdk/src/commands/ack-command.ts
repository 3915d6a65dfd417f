import type { CommandAckRequest } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { commandFinishedNotifications } from '../notifications/command-finished-sql.js';
import {
  type CommandRecord,
  type CommandRow,
  LATE_ACK_STATUSES,
  OPEN_COMMAND_STATUSES,
  toCommandRecord,
} from './command-record.js';
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
 * an open command (pending or sent), or a `failed` or `expired` one that was
 * delivered at least once (a late answer), becomes `acked` or `rejected` with
 * `acked_at` and the reason; an answered one (`acked`, `rejected`) is left as it is.
 *
 * @param db - the database (one conditional update; a read only when it changed nothing).
 * @param deviceId - the device answering; another device's command is not found.
 * @param commandId - the command.
 * @param answer - `acked` or `rejected`, and an optional reason.
 * @param nowMs - the time of the ack, epoch ms.
 * @returns the outcome, or undefined when the device has no such command.
 * @internal
 */
export async function ackCommand(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  commandId: string,
  answer: CommandAckRequest,
  nowMs: number,
): Promise<AckOutcome | undefined> {
  // The common case is one conditional UPDATE: an ack is the hottest write of a broadcast.
  // The `command.finished` notification is written by the same statement.
  const now = new Date(nowMs).toISOString();
  const { rows } = await sql<CommandRow>`
    with changed as (
      update commands
      set status = ${answer.status}, acked_at = ${now}::timestamptz, reason = ${answer.reason ?? null}
      where id = ${commandId} and device_id = ${deviceId}
        and (status in (${sql.join(OPEN_COMMAND_STATUSES)})
          or (status in (${sql.join(LATE_ACK_STATUSES)}) and attempts > 0))
      returning *),
    notified as (${commandFinishedNotifications('changed', now)})
    select * from changed`.execute(db);
  const updated = rows[0];
  if (updated !== undefined) {
    return { record: toCommandRecord(updated), change: statusChange(updated, answer.status) };
  }
  // Answered already, another device's, or unknown: answer with what is there.
  const row = await db
    .selectFrom('commands')
    .selectAll()
    .where('id', '=', commandId)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return row === undefined ? undefined : { record: toCommandRecord(row) };
}

/** One device's answer to one of its commands, as a socket ack frame carries it. */
export interface DeviceAck {
  readonly deviceId: string;
  readonly commandId: string;
  readonly status: CommandAckRequest['status'];
  readonly reason?: string;
}

/**
 * Records many acks in one statement: each command named by its device that
 * {@link ackCommand} would record becomes `acked` or `rejected`; acks of answered,
 * foreign or unknown commands change nothing. The gateway gathers socket acks for a few milliseconds and
 * writes them together, because a broadcast's acks arrive by the thousand.
 *
 * @param db - the database.
 * @param acks - the acks (a command acked twice in the batch takes the first answer).
 * @param nowMs - the time of the acks, epoch ms.
 * @returns the status changes made.
 * @internal
 */
export async function ackCommands(
  db: Kysely<FieldlineDatabase>,
  acks: readonly DeviceAck[],
  nowMs: number,
): Promise<CommandStatusChange[]> {
  const seen = new Set<string>();
  const unique = acks.filter((ack) => !seen.has(ack.commandId) && seen.add(ack.commandId));
  if (unique.length === 0) return [];
  const values = sql.join(
    unique.map(
      (ack) =>
        sql`(${ack.commandId}::text, ${ack.deviceId}::text, ${ack.status}::text, ${ack.reason ?? null}::text)`,
    ),
  );
  const update = sql`update commands
       set status = answers.status, acked_at = ${new Date(nowMs)}, reason = answers.reason
       from (values ${values}) as answers (id, device_id, status, reason)
       where commands.id = answers.id
         and commands.device_id = answers.device_id
         and (commands.status in ('pending', 'sent')
           or (commands.status in ('failed', 'expired') and commands.attempts > 0))
       returning commands.id, commands.device_id, commands.tenant_id, commands.type, commands.status`;
  const result = await sql<{
    id: string;
    device_id: string;
    tenant_id: string;
    type: string;
    status: 'acked' | 'rejected';
  }>`with changed as (${update}),
    notified as (${commandFinishedNotifications('changed', new Date(nowMs).toISOString())})
    select * from changed`.execute(db);
  return result.rows.map((row) => statusChange(row, row.status));
}
