import { type Kysely, type Migration, sql } from 'kysely';

// The embedded event stream (src/stream/): the outbox is the stream, and each durable named
// consumer keeps here the outbox seq up to which it has handled everything. Processes sharing
// a name take this row `for update skip locked`, so one of them works a batch at a time.
const up = [
  sql`create table stream_consumers (
    name text primary key,
    position bigint not null default 0,
    updated_at timestamptz
  )`,
];

const down = [sql`drop table if exists stream_consumers`];

/** Positions of the embedded event stream's durable named consumers. */
export const streamConsumersMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
