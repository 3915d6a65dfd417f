import { randomBytes } from 'node:crypto';
import type { Insertable, Kysely } from 'kysely';
import type { CommandsTable, FieldlineDatabase } from '../db/database-schema.js';

/** One command to store, already resolved to its device's tenant. */
export interface NewCommandRow {
  readonly id: string;
  readonly tenantId: string;
  readonly deviceId: string;
  readonly type: string;
  /** Omitted: the command has no body. */
  readonly body?: unknown;
  readonly maxAttempts: number;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

// 9 bind parameters a row: 1 000 rows stay far below PostgreSQL's 65 535.
const INSERT_CHUNK_ROWS = 1000;

/**
 * Mints a command id the way device ids are minted (`dev_…`): a readable
 * prefix and 96 random bits, so ids cannot be guessed or enumerated.
 *
 * @returns a new id such as `cmd_Xb2…`.
 * @internal
 */
export function newCommandId(): string {
  return `cmd_${randomBytes(12).toString('base64url')}`;
}

/**
 * Stores commands with multi-row inserts of at most 1 000 rows each. Run it
 * in a transaction when all of them must land or none.
 *
 * @param db - the database or a transaction.
 * @param commands - the rows, each with its id already minted.
 * @internal
 */
export async function insertCommands(
  db: Kysely<FieldlineDatabase>,
  commands: readonly NewCommandRow[],
): Promise<void> {
  const rows: Insertable<CommandsTable>[] = commands.map((command) => ({
    id: command.id,
    tenant_id: command.tenantId,
    device_id: command.deviceId,
    type: command.type,
    body: command.body === undefined ? null : JSON.stringify(command.body),
    status: 'pending',
    max_attempts: command.maxAttempts,
    created_at: new Date(command.createdAtMs),
    expires_at: new Date(command.expiresAtMs),
  }));
  for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS) {
    await db
      .insertInto('commands')
      .values(rows.slice(start, start + INSERT_CHUNK_ROWS))
      .execute();
  }
}
