import { type Kysely, type Migration, sql } from 'kysely';

// The employee's consent page (docs/consent-page.md):
// - policies keep what they told people per scope (purpose, what is collected, retention), an
//   optional plain-language summary, and the SHA-256 of their text, so consent records and
//   receipts carry the published words. Existing policies get their text's hash; their
//   purposes stay null and records keep the configured or generic texts.
// - consent_link_nonces remembers the nonce of every exchanged link until it expires, so a link
//   opens one session only. Rows past `expires_at` are deleted by the exchange itself.
// - consent_page_sessions holds the sessions those links open, by SHA-256 of their token (the
//   token itself lives only in the person's cookie), each scoped to one device.
const up = [
  sql`alter table policies add column purposes jsonb`,
  sql`alter table policies add column summary text`,
  sql`alter table policies add column text_sha256 text`,
  sql`update policies set text_sha256 = encode(sha256(convert_to(text, 'UTF8')), 'hex')`,
  sql`create table consent_link_nonces (
    device_id text not null,
    nonce text not null,
    expires_at timestamptz not null,
    primary key (device_id, nonce)
  )`,
  sql`create index consent_link_nonces_expiry on consent_link_nonces (expires_at)`,
  sql`create table consent_page_sessions (
    token_hash text primary key,
    tenant_id text not null references tenants(id),
    device_id text not null references devices(id),
    created_at timestamptz not null,
    expires_at timestamptz not null
  )`,
  sql`create index consent_page_sessions_expiry on consent_page_sessions (expires_at)`,
];

const down = [
  sql`drop table if exists consent_page_sessions`,
  sql`drop table if exists consent_link_nonces`,
  sql`alter table policies drop column if exists text_sha256`,
  sql`alter table policies drop column if exists summary`,
  sql`alter table policies drop column if exists purposes`,
];

/** Policy purposes and text hashes, consent link nonces and consent page sessions. */
export const consentLinksMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
