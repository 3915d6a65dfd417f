import type { Command } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

/**
 * The device's commands that still wait for an ack and have not expired,
 * oldest first, as they ride along on HTTP responses.
 *
 * @param db - the database.
 * @param deviceId - the device.
 * @param now - the current time.
 */
export async function pendingCommands(
  db: Kysely<FieldlineDatabase>,
  deviceId: string,
  now: Date,
): Promise<Command[]> {
  const rows = await db
    .selectFrom('commands')
    .select(['id', 'type', 'body', 'created_at', 'expires_at'])
    .where('device_id', '=', deviceId)
    .where('status', 'in', ['pending', 'sent'])
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .limit(100)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    ...(row.body === null ? {} : { body: row.body }),
    issuedAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
  }));
}
