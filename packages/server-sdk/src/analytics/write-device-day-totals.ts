import { type Kysely, sql } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import type { ActivityRow } from './activity-row.js';

/**
 * Makes one device's `device_day_totals` of `days` the sums over apps of `rows` (its new
 * `aggregates` rows of those days), in the caller's transaction. A day without rows loses its
 * totals; a day whose totals do not change is not written (its `updated_at` stays), so a
 * replay changes nothing. The caller holds the device's lock, as for `writeDeviceDays`.
 * @internal
 */
export async function writeDeviceDayTotals(
  db: Kysely<FieldlineDatabase>,
  target: {
    readonly tenantId: string;
    readonly deviceId: string;
    readonly days: readonly string[];
  },
  rows: readonly ActivityRow[],
): Promise<void> {
  const { tenantId, deviceId, days } = target;
  if (days.length === 0) return;
  const totals = new Map<
    string,
    {
      day: string;
      active_ms: number;
      idle_ms: number;
      launches: number;
      bytes_in: number;
      bytes_out: number;
    }
  >();
  for (const row of rows) {
    let total = totals.get(row.day);
    if (total === undefined) {
      total = { day: row.day, active_ms: 0, idle_ms: 0, launches: 0, bytes_in: 0, bytes_out: 0 };
      totals.set(row.day, total);
    }
    total.active_ms += row.activeMs;
    total.idle_ms += row.idleMs;
    total.launches += row.launches;
    total.bytes_in += row.bytesIn;
    total.bytes_out += row.bytesOut;
  }
  const emptied = days.filter((day) => !totals.has(day));
  if (emptied.length > 0) {
    await db
      .deleteFrom('device_day_totals')
      .where('device_id', '=', deviceId)
      .where('day', 'in', emptied)
      .execute();
  }
  if (totals.size === 0) return;
  const values = JSON.stringify([...totals.values()].sort((a, b) => (a.day < b.day ? -1 : 1)));
  await sql`
    insert into device_day_totals
      (tenant_id, device_id, day, active_ms, idle_ms, launches, bytes_in, bytes_out, updated_at)
    select ${tenantId}, ${deviceId}, day, active_ms, idle_ms, launches, bytes_in, bytes_out,
      clock_timestamp()
    from jsonb_to_recordset(${values}::jsonb) as r(
      day date, active_ms bigint, idle_ms bigint, launches bigint, bytes_in bigint, bytes_out bigint)
    on conflict (device_id, day) do update set
      tenant_id = excluded.tenant_id, active_ms = excluded.active_ms, idle_ms = excluded.idle_ms,
      launches = excluded.launches, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
      updated_at = excluded.updated_at
    where (device_day_totals.active_ms, device_day_totals.idle_ms, device_day_totals.launches,
        device_day_totals.bytes_in, device_day_totals.bytes_out, device_day_totals.tenant_id)
      is distinct from (excluded.active_ms, excluded.idle_ms, excluded.launches,
        excluded.bytes_in, excluded.bytes_out, excluded.tenant_id)`.execute(db);
}
