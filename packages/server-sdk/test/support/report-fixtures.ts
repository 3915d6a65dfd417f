// Shared by the report suites: devices and aggregate rows inserted directly (tenant rows kept
// equal to the sums of device rows, as the analytics consumer keeps them), and a CSV reader.
import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';

export async function insertDevice(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  id: string,
): Promise<void> {
  await db
    .insertInto('tenants')
    .values({ id: tenant })
    .onConflict((oc) => oc.doNothing())
    .execute();
  await db
    .insertInto('devices')
    .values({
      id,
      tenant_id: tenant,
      hostname: id,
      os: 'linux',
      arch: 'x64',
      signing_public_key: 'k',
      encryption_public_key: 'k',
      drops: '{}',
    })
    .execute();
}

export interface AggregateFixture {
  readonly tenant: string;
  readonly device: string;
  readonly day: string;
  readonly app: string;
  readonly activeMs: number;
  readonly idleMs: number;
  readonly launches: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Inserts device rows, then recomputes the affected tenant rows as their sums. */
export async function insertAggregates(
  db: Kysely<FieldlineDatabase>,
  rows: readonly AggregateFixture[],
): Promise<void> {
  await db
    .insertInto('aggregates')
    .values(
      rows.map((row) => ({
        tenant_id: row.tenant,
        device_id: row.device,
        day: row.day,
        app: row.app,
        active_ms: row.activeMs,
        idle_ms: row.idleMs,
        launches: row.launches,
        bytes_in: row.bytesIn,
        bytes_out: row.bytesOut,
        updated_at: sql<Date>`clock_timestamp()`,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['device_id', 'day', 'app']).doUpdateSet((eb) => ({
        active_ms: eb.ref('excluded.active_ms'),
        idle_ms: eb.ref('excluded.idle_ms'),
        launches: eb.ref('excluded.launches'),
        bytes_in: eb.ref('excluded.bytes_in'),
        bytes_out: eb.ref('excluded.bytes_out'),
        updated_at: sql<Date>`clock_timestamp()`,
      })),
    )
    .execute();
  await syncTenantAggregates(db);
}

/**
 * Rebuilds `tenant_aggregates` and `device_day_totals` as the sums of `aggregates`, as the
 * analytics consumer keeps them.
 */
export async function syncTenantAggregates(db: Kysely<FieldlineDatabase>): Promise<void> {
  await sql`delete from device_day_totals`.execute(db);
  await sql`
    insert into device_day_totals
      (tenant_id, device_id, day, active_ms, idle_ms, launches, bytes_in, bytes_out, updated_at)
    select min(tenant_id), device_id, day, sum(active_ms), sum(idle_ms), sum(launches),
      sum(bytes_in), sum(bytes_out), max(updated_at)
    from aggregates group by device_id, day`.execute(db);
  await sql`delete from tenant_aggregates`.execute(db);
  await sql`
    insert into tenant_aggregates
      (tenant_id, day, app, devices, active_ms, idle_ms, launches, bytes_in, bytes_out, updated_at)
    select tenant_id, day, app, count(*), sum(active_ms), sum(idle_ms), sum(launches),
      sum(bytes_in), sum(bytes_out), max(updated_at)
    from aggregates group by tenant_id, day, app`.execute(db);
}

/** Reads RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += char;
  }
  if (field !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}
