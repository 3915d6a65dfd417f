import { type Kysely, type Migration, sql } from 'kysely';

// Plain SQL: one dialect (PostgreSQL) serves both PostgreSQL and PGlite, and
// DDL reads best as the SQL a DBA would review.
const statements = [
  sql`create table tenants (
    id text primary key,
    created_at timestamptz not null default now()
  )`,
  sql`create table devices (
    id text primary key,
    tenant_id text not null references tenants(id),
    hostname text not null,
    os text not null,
    arch text not null,
    agent_version text,
    signing_public_key text not null,
    encryption_public_key text not null,
    status text not null default 'active' check (status in ('active', 'revoked')),
    enrolled_at timestamptz not null default now(),
    last_seen_at timestamptz,
    drops jsonb not null default '{}'::jsonb
  )`,
  sql`create index devices_tenant on devices (tenant_id)`,
  sql`create table install_tokens (
    id text primary key,
    tenant_id text not null references tenants(id),
    token_hash text not null unique,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz,
    used_by_device_id text
  )`,
  sql`create table device_tokens (
    id text primary key,
    device_id text not null references devices(id),
    token_hash text not null unique,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
  )`,
  sql`create table sessions (
    id text primary key,
    device_id text not null references devices(id),
    token_hash text not null unique,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
  )`,
  sql`create table policies (
    tenant_id text not null references tenants(id),
    version integer not null check (version > 0),
    scopes jsonb not null,
    text text not null,
    url text,
    created_at timestamptz not null default now(),
    primary key (tenant_id, version)
  )`,
  sql`create table consent_ledger (
    seq bigint generated always as identity primary key,
    id text not null unique,
    tenant_id text not null references tenants(id),
    device_id text not null references devices(id),
    at timestamptz not null,
    event jsonb not null,
    state jsonb not null,
    method text not null,
    actor text not null,
    record jsonb not null
  )`,
  sql`create index consent_ledger_device on consent_ledger (device_id, seq)`,
  // One row per event id: the id is the idempotency key, so dedup is the
  // primary key. Indexed by (device, occurred_at) for reads and time pruning.
  sql`create table events (
    id uuid primary key,
    tenant_id text not null,
    device_id text not null,
    type text not null,
    scope text not null,
    seq bigint not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null,
    data jsonb not null
  )`,
  sql`create index events_device_time on events (device_id, occurred_at desc)`,
  sql`create table reports (
    id uuid primary key,
    tenant_id text not null,
    device_id text not null,
    job text not null,
    status text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    duration_ms bigint not null,
    metrics jsonb not null,
    error jsonb,
    received_at timestamptz not null
  )`,
  sql`create index reports_device_time on reports (device_id, received_at desc)`,
  sql`create table outbox (
    seq bigint generated always as identity primary key,
    tenant_id text not null,
    topic text not null,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    published_at timestamptz
  )`,
  sql`create index outbox_unpublished on outbox (seq) where published_at is null`,
  sql`create table commands (
    id text primary key,
    tenant_id text not null,
    device_id text not null references devices(id),
    type text not null,
    body jsonb,
    status text not null default 'pending',
    attempts integer not null default 0,
    max_attempts integer not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    acked_at timestamptz,
    reason text
  )`,
  sql`create index commands_device_pending on commands (device_id, created_at) where status in ('pending', 'sent')`,
  sql`create table dead_letters (
    seq bigint generated always as identity primary key,
    tenant_id text not null,
    device_id text,
    kind text not null,
    payload jsonb not null,
    reason text not null,
    created_at timestamptz not null default now()
  )`,
  sql`create table audit_log (
    seq bigint generated always as identity primary key,
    at timestamptz not null,
    tenant_id text,
    actor text not null,
    action text not null,
    subject text,
    details jsonb not null,
    prev_hash text not null,
    hash text not null
  )`,
  sql`create table aggregates (
    tenant_id text not null,
    device_id text not null,
    day date not null,
    app text not null,
    active_ms bigint not null default 0,
    idle_ms bigint not null default 0,
    primary key (device_id, day, app)
  )`,
  sql`create table configs (
    tenant_id text not null,
    device_id text not null default '',
    config jsonb not null,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, device_id)
  )`,
  sql`create table seen_messages (
    message_id text primary key,
    expires_at timestamptz not null
  )`,
];

/** The first schema: every table of DESIGN.md's storage section. */
export const initialMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const table of [
      'seen_messages',
      'configs',
      'aggregates',
      'audit_log',
      'dead_letters',
      'commands',
      'outbox',
      'reports',
      'events',
      'consent_ledger',
      'policies',
      'sessions',
      'device_tokens',
      'install_tokens',
      'devices',
      'tenants',
    ]) {
      await sql`drop table if exists ${sql.table(table)}`.execute(db);
    }
  },
};
