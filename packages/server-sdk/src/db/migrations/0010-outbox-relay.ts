import { type Kysely, type Migration, sql } from 'kysely';

// The outbox relay (src/stream/create-outbox-relay.ts) publishes outbox rows to NATS JetStream.
// Relays on several processes share one lease row per relay name: the holder publishes in seq
// order, the others stand by until its lease lapses, so the stream keeps the outbox's order.
// `position` is the highest seq published, which lets the relay tell a hole that may still
// fill (a transaction in flight) from one that never will. Unpublished rows are found through
// the partial index `outbox_unpublished` that 0001 already created.
const up = [
  sql`create table outbox_relay_leases (
    name text primary key,
    holder text not null,
    lease_until timestamptz not null,
    position bigint not null default 0,
    updated_at timestamptz
  )`,
];

const down = [sql`drop table if exists outbox_relay_leases`];

/** Leases and positions of the outbox relays that publish to NATS JetStream. */
export const outboxRelayMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
