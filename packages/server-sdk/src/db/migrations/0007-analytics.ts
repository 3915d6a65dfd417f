import { type Kysely, type Migration, sql } from 'kysely';

// Activity analytics (docs/analytics.md). `aggregates` gains the remaining figures of a daily
// row; `tenant_aggregates` holds the same rows summed over a tenant's devices, kept in step by
// the analytics consumer in the transaction that changes the device rows, so tenant reports
// read 90 days × apps rows instead of summing every device. `tenant_settings` holds what
// changes a tenant's figures and retention. `consent_refusals` counts, per device, local day
// and scope, the events the server refused for want of consent (the compliance report).
const up = [
  sql`alter table aggregates add column launches bigint not null default 0`,
  sql`alter table aggregates add column bytes_in bigint not null default 0`,
  sql`alter table aggregates add column bytes_out bigint not null default 0`,
  sql`alter table aggregates add column updated_at timestamptz not null default now()`,
  sql`create index aggregates_tenant_day on aggregates (tenant_id, day)`,
  sql`create table tenant_aggregates (
    tenant_id text not null,
    day date not null,
    app text not null,
    devices integer not null default 0,
    active_ms bigint not null default 0,
    idle_ms bigint not null default 0,
    launches bigint not null default 0,
    bytes_in bigint not null default 0,
    bytes_out bigint not null default 0,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, day, app)
  )`,
  sql`create table tenant_settings (
    tenant_id text primary key,
    time_zone text not null default 'UTC',
    max_open_interval_ms integer not null default 900000,
    retention_days integer not null default 90,
    updated_at timestamptz not null default now()
  )`,
  sql`create table consent_refusals (
    tenant_id text not null,
    device_id text not null,
    day date not null,
    scope text not null,
    events bigint not null default 0,
    primary key (device_id, day, scope)
  )`,
  sql`create index consent_refusals_tenant_day on consent_refusals (tenant_id, day)`,
];

const down = [
  sql`drop table if exists consent_refusals`,
  sql`drop table if exists tenant_settings`,
  sql`drop table if exists tenant_aggregates`,
  sql`drop index if exists aggregates_tenant_day`,
  sql`alter table aggregates drop column updated_at`,
  sql`alter table aggregates drop column bytes_out`,
  sql`alter table aggregates drop column bytes_in`,
  sql`alter table aggregates drop column launches`,
];

/** Activity aggregates' full rows, tenant rollups, tenant settings and consent refusals. */
export const analyticsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
