import { type Kysely, type Migration, sql } from 'kysely';

// Accounts for people (docs/accounts.md). An e-mail is unique whatever its case. A role row is
// `owner` (every tenant: no tenant_id) or `tenant_admin`/`auditor` of one tenant, at most one
// row per user and tenant. A session stores only the SHA-256 of its cookie token (the CSRF
// token is derived from the token, so nothing else secret is kept); `tenant_id` is the tenant
// it acts in. Times are written from the server's clock, not `now()`, so expiry follows the
// same clock that checks it. Login attempts that failed are kept for the rate limit's window,
// keyed by the SHA-256 of the lower-cased e-mail (attacker-typed text is not stored) and by
// the client's address. Setup tokens make the first owner; they are one-time and expiring.
const up = [
  sql`create table users (
    id text primary key,
    email text not null,
    password_hash text not null,
    disabled boolean not null default false,
    created_at timestamptz not null,
    updated_at timestamptz not null
  )`,
  sql`create unique index users_email_lower on users (lower(email))`,
  sql`create table user_roles (
    user_id text not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'tenant_admin', 'auditor')),
    tenant_id text references tenants (id),
    created_at timestamptz not null,
    check ((role = 'owner') = (tenant_id is null))
  )`,
  sql`create unique index user_roles_scope on user_roles (user_id, coalesce(tenant_id, ''))`,
  sql`create index user_roles_tenant on user_roles (tenant_id)`,
  sql`create table user_sessions (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    token_hash text not null unique,
    tenant_id text,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    last_seen_at timestamptz not null
  )`,
  sql`create index user_sessions_user on user_sessions (user_id)`,
  sql`create index user_sessions_expires on user_sessions (expires_at)`,
  sql`create table login_attempts (
    id bigint generated always as identity primary key,
    email_key text not null,
    source text not null,
    at timestamptz not null
  )`,
  sql`create index login_attempts_email on login_attempts (email_key, at)`,
  sql`create index login_attempts_source on login_attempts (source, at)`,
  sql`create index login_attempts_at on login_attempts (at)`,
  sql`create table setup_tokens (
    id text primary key,
    token_hash text not null unique,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    used_by_user_id text
  )`,
];

const down = [
  sql`drop table if exists setup_tokens`,
  sql`drop table if exists login_attempts`,
  sql`drop table if exists user_sessions`,
  sql`drop table if exists user_roles`,
  sql`drop table if exists users`,
];

/** People's accounts: users, their roles per tenant, sessions, login attempts, setup tokens. */
export const accountsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
