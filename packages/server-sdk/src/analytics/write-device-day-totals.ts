import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ActivityRow } from './activity-row.js';

interface DayTotal {
  tenant_id: string;
  device_id: string;
  day: string;
  active_ms: number;
  idle_ms: number;
  launches: number;
  bytes_in: number;
  bytes_out: number;
}

/**
 * Makes each device's `device_day_totals` of its `days` the sums over apps of its `rows` (its
 * new `aggregates` rows of those days), in the caller's transaction and two statements at
 * most. A day without rows loses its totals; a day whose totals do not change is not written
 * (its `updated_at` stays), so a replay changes nothing. The caller holds the devices' locks,
 * as for `writeDevicesDays`.
 * @internal
 */
export async function writeDevicesDayTotals(
  db: Kysely<FieldlineDatabase>,
  entries: ReadonlyArray<{
    readonly tenantId: string;
    readonly deviceId: string;
    readonly days: readonly string[];
    readonly rows: readonly ActivityRow[];
  }>,
): Promise<void> {
  const totals: DayTotal[] = [];
  const emptied: Array<{ device_id: string; day: string }> = [];
  for (const { tenantId, deviceId, days, rows } of entries) {
    const byDay = new Map<string, DayTotal>();
    for (const row of rows) {
      let total = byDay.get(row.day);
      if (total === undefined) {
        total = {
          tenant_id: tenantId,
          device_id: deviceId,
          day: row.day,
          active_ms: 0,
          idle_ms: 0,
          launches: 0,
          bytes_in: 0,
          bytes_out: 0,
        };
        byDay.set(row.day, total);
      }
      total.active_ms += row.activeMs;
      total.idle_ms += row.idleMs;
      total.launches += row.launches;
      total.bytes_in += row.bytesIn;
      total.bytes_out += row.bytesOut;
    }
    for (const day of days) if (!byDay.has(day)) emptied.push({ device_id: deviceId, day });
    totals.push(...byDay.values());
  }
  if (emptied.length > 0) {
    await sql`
      delete from device_day_totals t
      using jsonb_to_recordset(${JSON.stringify(emptied)}::jsonb) as k(device_id text, day date)
      where t.device_id = k.device_id and t.day = k.day`.execute(db);
  }
  if (totals.length === 0) return;
  totals.sort((a, b) =>
    a.device_id !== b.device_id ? (a.device_id < b.device_id ? -1 : 1) : a.day < b.day ? -1 : 1,
  );
  await sql`
    insert into device_day_totals
      (tenant_id, device_id, day, active_ms, idle_ms, launches, bytes_in, bytes_out, updated_at)
    select tenant_id, device_id, day, active_ms, idle_ms, launches, bytes_in, bytes_out,
      clock_timestamp()
    from jsonb_to_recordset(${JSON.stringify(totals)}::jsonb) as r(
      tenant_id text, device_id text, day date, active_ms bigint, idle_ms bigint, launches bigint,
      bytes_in bigint, bytes_out bigint)
    on conflict (device_id, day) do update set
      tenant_id = excluded.tenant_id, active_ms = excluded.active_ms, idle_ms = excluded.idle_ms,
      launches = excluded.launches, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
      updated_at = excluded.updated_at
    where (device_day_totals.active_ms, device_day_totals.idle_ms, device_day_totals.launches,
        device_day_totals.bytes_in, device_day_totals.bytes_out, device_day_totals.tenant_id)
      is distinct from (excluded.active_ms, excluded.idle_ms, excluded.launches,
        excluded.bytes_in, excluded.bytes_out, excluded.tenant_id)`.execute(db);
}
