import { type Kysely, type Migration, sql } from 'kysely';

// Signed webhooks (docs/webhooks.md). An endpoint's secret is stored AES-256-GCM encrypted under
// the server's webhook key, never in clear; after a rotation the previous secret also signs
// until `previous_secret_expires_at`, so receivers can switch without dropping deliveries. A delivery is one notification for one endpoint;
// `pending` (never tried) and `failed` (a retry is due at next_attempt_at) are the open
// statuses; `succeeded` and `dead` are final. (endpoint_id, stream_seq) is unique so a replayed stream record never makes a second one.
// The attempts of a delivery are a jsonb array on its row rather than a table: they are few
// (at most the retry schedule's attempts, plus manual redeliveries), always read with their
// delivery, and appended in the same single-row update that records the attempt's outcome.
const up = [
  sql`create table webhook_endpoints (
    id text primary key,
    tenant_id text not null references tenants (id),
    url text not null,
    event_types jsonb not null,
    description text,
    secret_ciphertext text not null,
    previous_secret_ciphertext text,
    previous_secret_expires_at timestamptz,
    enabled boolean not null default true,
    disabled_at timestamptz,
    disabled_reason text,
    consecutive_failures integer not null default 0,
    failing_since timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`,
  sql`create index webhook_endpoints_tenant on webhook_endpoints (tenant_id)`,
  sql`create table webhook_deliveries (
    id text primary key,
    endpoint_id text not null references webhook_endpoints (id) on delete cascade,
    tenant_id text not null,
    stream_seq bigint,
    type text not null,
    body jsonb not null,
    status text not null default 'pending'
      check (status in ('pending', 'succeeded', 'failed', 'dead')),
    attempts integer not null default 0,
    next_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    last_latency_ms integer,
    attempt_log jsonb not null default '[]'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (endpoint_id, stream_seq)
  )`,
  sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
    where status in ('pending', 'failed')`,
  sql`create index webhook_deliveries_endpoint on webhook_deliveries (endpoint_id, created_at desc)`,
];

const down = [
  sql`drop table if exists webhook_deliveries`,
  sql`drop table if exists webhook_endpoints`,
];

/** Webhook endpoints and their deliveries. */
export const webhooksMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
