import type { Command } from '@fieldline/core';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { commandFinishedNotifications } from '../notifications/command-finished-sql.js';
import { OPEN_COMMAND_STATUSES, toDeliveredCommand } from './command-record.js';
import { type CommandStatusChange, statusChange } from './command-status-change.js';

/** What one delivery round did. */
export interface DeliveryRound {
  /** The commands handed over now, per device, oldest first. */
  readonly commands: Map<string, Command[]>;
  /** Every status change of the round: pending → sent, → expired, → failed. */
  readonly changes: CommandStatusChange[];
}

/** How a delivery round is run. */
export interface DeliveryRoundOptions {
  /** The time of the round, epoch ms. */
  readonly nowMs: number;
  /** How long a sent command waits for its ack before it is due again. */
  readonly ackTimeoutMs: number;
  /** Only pending commands, and sent ones whose ack timeout passed. */
  readonly onlyDue: boolean;
  /** The most commands handed over to one device in one round. */
  readonly limit: number;
}

// Rows looked at per device and round: expired and failed ones are settled on the way, so a
// backlog of dead commands never hides live ones for more than a round or two.
const CANDIDATE_ROWS = 1000;
// A round over many devices (a broadcast) looks at this many rows at most; the rest wait for
// the next round, which the gateway runs when this one handed anything over.
const MAX_ROUND_ROWS = 20_000;

/**
 * Runs one delivery round for some devices in one transaction (docs/protocol.md
 * §4.7): of their open commands, those past their TTL become `expired`, those
 * whose next delivery would exceed `max_attempts` become `failed`, and the
 * rest (up to `limit`) are handed over: `attempts + 1`, `sent`, `last_sent_at`.
 *
 * The rows are locked `for update skip locked`, so two rounds for the same
 * device running at once (two instances, or the socket and an HTTP response)
 * split the commands between them instead of both counting one delivery.
 *
 * One round for many devices (a broadcast reaching every connected device)
 * costs the same few statements as a round for one.
 *
 * @param db - the database (not a transaction: the round is its own).
 * @param deviceIds - the devices.
 * @param options - the time, the ack timeout, the due filter and the limit.
 * @returns what was handed over and what changed.
 * @internal
 */
export async function runDeliveryRound(
  db: Kysely<FieldlineDatabase>,
  deviceIds: readonly string[],
  options: DeliveryRoundOptions,
): Promise<DeliveryRound> {
  if (deviceIds.length === 0) return { commands: new Map(), changes: [] };
  const now = new Date(options.nowMs);
  const dueBefore = new Date(options.nowMs - options.ackTimeoutMs);
  // Most rounds (every events answer) find nothing: one indexed read, no transaction. A
  // command created just after it is announced on the bus and taken by the next round.
  const anyOpen = await db
    .selectFrom('commands')
    .select('id')
    .where('device_id', 'in', deviceIds)
    .where('status', 'in', OPEN_COMMAND_STATUSES)
    .limit(1)
    .executeTakeFirst();
  if (anyOpen === undefined) return { commands: new Map(), changes: [] };
  return db.transaction().execute(async (trx) => {
    let query = trx
      .selectFrom('commands')
      .select([
        'id',
        'tenant_id',
        'device_id',
        'type',
        'body',
        'status',
        'attempts',
        'max_attempts',
        'created_at',
        'expires_at',
      ])
      .where('device_id', 'in', deviceIds)
      .where('status', 'in', OPEN_COMMAND_STATUSES);
    if (options.onlyDue) {
      query = query.where((eb) =>
        eb.or([
          eb('status', '=', 'pending'),
          eb('last_sent_at', 'is', null),
          eb('last_sent_at', '<=', dueBefore),
          eb('expires_at', '<=', now),
        ]),
      );
    }
    const rows = await query
      .orderBy('created_at')
      .orderBy('id')
      .limit(Math.min(MAX_ROUND_ROWS, CANDIDATE_ROWS * deviceIds.length))
      .forUpdate()
      .skipLocked()
      .execute();

    const expired: typeof rows = [];
    const failed: typeof rows = [];
    const delivered: typeof rows = [];
    const deliveredPerDevice = new Map<string, number>();
    for (const row of rows) {
      if (row.expires_at.getTime() <= options.nowMs) expired.push(row);
      else if (row.attempts >= row.max_attempts) failed.push(row);
      else {
        const count = deliveredPerDevice.get(row.device_id) ?? 0;
        if (count < options.limit) {
          deliveredPerDevice.set(row.device_id, count + 1);
          delivered.push(row);
        }
      }
    }
    const settle = async (ids: string[], status: 'expired' | 'failed') => {
      if (ids.length === 0) return;
      // The `command.finished` notifications are written by the same statement.
      await sql`with changed as (
          update commands set status = ${status} where id in (${sql.join(ids)})
          returning id, tenant_id, device_id, type, status)
        ${commandFinishedNotifications('changed', now.toISOString())}`.execute(trx);
    };
    await settle(
      expired.map((row) => row.id),
      'expired',
    );
    await settle(
      failed.map((row) => row.id),
      'failed',
    );
    if (delivered.length > 0) {
      await trx
        .updateTable('commands')
        .set((eb) => ({ status: 'sent', attempts: eb('attempts', '+', 1), last_sent_at: now }))
        .where(
          'id',
          'in',
          delivered.map((row) => row.id),
        )
        .execute();
    }
    const commands = new Map<string, Command[]>();
    for (const row of delivered) {
      const list = commands.get(row.device_id);
      if (list === undefined) commands.set(row.device_id, [toDeliveredCommand(row)]);
      else list.push(toDeliveredCommand(row));
    }
    return {
      commands,
      changes: [
        ...expired.map((row) => statusChange(row, 'expired')),
        ...failed.map((row) => statusChange(row, 'failed')),
        // A redelivery (sent → sent) is not a change of status.
        ...delivered
          .filter((row) => row.status === 'pending')
          .map((row) => statusChange(row, 'sent')),
      ],
    };
  });
}
