import { type Kysely, type Migration, sql } from 'kysely';

// Presence (which instance holds a device's socket, since when) and command
// redelivery (when a command was last handed over) for the real-time channel.
const up = [
  sql`alter table devices add column connected_at timestamptz`,
  sql`alter table devices add column connected_instance text`,
  sql`alter table commands add column last_sent_at timestamptz`,
  sql`create index commands_expiring on commands (expires_at) where status in ('pending', 'sent')`,
  sql`create index sessions_device on sessions (device_id)`,
];

const down = [
  sql`drop index if exists sessions_device`,
  sql`drop index if exists commands_expiring`,
  sql`alter table commands drop column last_sent_at`,
  sql`alter table devices drop column connected_instance`,
  sql`alter table devices drop column connected_at`,
];

/** Presence columns on devices and redelivery bookkeeping on commands. */
export const realtimeMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
