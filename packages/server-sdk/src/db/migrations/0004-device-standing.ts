import { type Kysely, type Migration, sql } from 'kysely';

// Revocation, install-token revocation, clone detection and key rotation (docs/protocol.md §5):
// when a device was revoked, quarantined or told to rotate, the takeover counter the gateway
// keeps to spot two holders of one device's keys, and when an install token was revoked.
const up = [
  sql`alter table devices add column revoked_at timestamptz`,
  sql`alter table devices add column quarantined_at timestamptz`,
  sql`alter table devices add column clone_suspected_at timestamptz`,
  sql`alter table devices add column takeovers integer not null default 0`,
  sql`alter table devices add column takeovers_since timestamptz`,
  sql`alter table devices add column rotation_required_at timestamptz`,
  sql`alter table devices add column keys_rotated_at timestamptz`,
  sql`alter table install_tokens add column revoked_at timestamptz`,
  sql`create index install_tokens_tenant on install_tokens (tenant_id, created_at)`,
];

const down = [
  sql`drop index if exists install_tokens_tenant`,
  sql`alter table install_tokens drop column revoked_at`,
  sql`alter table devices drop column keys_rotated_at`,
  sql`alter table devices drop column rotation_required_at`,
  sql`alter table devices drop column takeovers_since`,
  sql`alter table devices drop column takeovers`,
  sql`alter table devices drop column clone_suspected_at`,
  sql`alter table devices drop column quarantined_at`,
  sql`alter table devices drop column revoked_at`,
];

/** Device standing (revoked, quarantined, rotation required) and install-token revocation. */
export const deviceStandingMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
