import { type Kysely, type Migration, sql } from 'kysely';

// The analytics consumer reads a stored batch of more than 100 events (whose outbox message
// does not list the ids) by device and `received_at`; without this index that read scans every
// event the device has kept.
const up = [sql`create index events_device_received on events (device_id, received_at)`];

const down = [sql`drop index if exists events_device_received`];

/** An index for the analytics consumer's read of a batch by device and reception time. */
export const analyticsExtraMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
