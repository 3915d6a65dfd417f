import { type Kysely, type Migration, sql } from 'kysely';

// Per device and local day, the figures summed over its apps: what a tenant report grouped by
// device (without app) reads. Summing `aggregates` for 1,000 devices over 90 days reads ~1.9M
// rows (~0.5 s on a small machine); these totals are 90k rows. The analytics consumer replaces
// a device's totals with its `aggregates` rows, in the same transaction. Existing rows are
// backfilled from `aggregates`.
const up = [
  sql`create table device_day_totals (
    tenant_id text not null,
    device_id text not null,
    day date not null,
    active_ms bigint not null default 0,
    idle_ms bigint not null default 0,
    launches bigint not null default 0,
    bytes_in bigint not null default 0,
    bytes_out bigint not null default 0,
    updated_at timestamptz not null default now(),
    primary key (device_id, day)
  )`,
  sql`create index device_day_totals_tenant_day on device_day_totals (tenant_id, day)`,
  sql`insert into device_day_totals
      (tenant_id, device_id, day, active_ms, idle_ms, launches, bytes_in, bytes_out, updated_at)
    select min(tenant_id), device_id, day, sum(active_ms), sum(idle_ms), sum(launches),
      sum(bytes_in), sum(bytes_out), max(updated_at)
    from aggregates group by device_id, day`,
];

const down = [sql`drop table if exists device_day_totals`];

/** Per device and day totals over apps, for reports grouped by device. */
export const deviceDayTotalsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
