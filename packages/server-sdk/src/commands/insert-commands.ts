import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';

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

// Rows per statement: one JSON parameter each, so this only bounds a statement's size (~2 MB).
const INSERT_CHUNK_ROWS = 10_000;

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
 * Stores commands, up to 10 000 rows a statement. The rows travel as one JSON parameter
 * unpacked by `jsonb_to_recordset`: a broadcast to 10 000 devices as 90 000 bind parameters
 * cost about twice as long to build, send and plan. Run it in a transaction when all of them
 * must land or none.
 *
 * @param db - the database or a transaction.
 * @param commands - the rows, each with its id already minted.
 * @internal
 */
export async function insertCommands(
  db: Kysely<FieldlineDatabase>,
  commands: readonly NewCommandRow[],
): Promise<void> {
  for (let start = 0; start < commands.length; start += INSERT_CHUNK_ROWS) {
    const rows = commands.slice(start, start + INSERT_CHUNK_ROWS).map((command) => ({
      id: command.id,
      tenant_id: command.tenantId,
      device_id: command.deviceId,
      type: command.type,
      // As text, so that a body of JSON null is stored as jsonb null, not as SQL NULL.
      ...(command.body === undefined ? {} : { body: JSON.stringify(command.body) }),
      max_attempts: command.maxAttempts,
      created_at: new Date(command.createdAtMs).toISOString(),
      expires_at: new Date(command.expiresAtMs).toISOString(),
    }));
    await sql`
      insert into commands
        (id, tenant_id, device_id, type, body, status, max_attempts, created_at, expires_at)
      select id, tenant_id, device_id, type, body::jsonb, 'pending', max_attempts, created_at,
        expires_at
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
        id text, tenant_id text, device_id text, type text, body text, max_attempts integer,
        created_at timestamptz, expires_at timestamptz
      )
    `.execute(db);
  }
}
