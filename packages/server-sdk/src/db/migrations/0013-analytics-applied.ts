import { type Kysely, type Migration, sql } from 'kysely';

// The stored batches the analytics consumer has added to the aggregate tables, by device and
// `received_at` (store-events gives every row of a batch the same one), with how many activity
// events that was. The consumer adds the change a batch makes instead of recomputing whole days,
// so it must know which stored events the rows already count: the rows are always the
// aggregation of the events of these batches. Existing batches are counted as added, since the
// recompute consumer before this migration counted every batch it had been given.
const ACTIVITY_TYPES = sql.join(
  [
    'activity.window.focused',
    'activity.app.launched',
    'activity.app.closed',
    'activity.system.idle',
    'activity.system.active',
    'activity.network.volume',
  ].map((type) => sql.lit(type)),
);

const up = [
  sql`create table analytics_applied (
    device_id text not null,
    received_at timestamptz not null,
    events integer not null,
    applied_at timestamptz not null default now(),
    primary key (device_id, received_at)
  )`,
  sql`create index analytics_applied_received on analytics_applied (received_at)`,
  sql`insert into analytics_applied (device_id, received_at, events)
    select device_id, received_at, count(*)::int from events
    where type in (${ACTIVITY_TYPES})
    group by device_id, received_at`,
];

const down = [sql`drop table if exists analytics_applied`];

/** The batches the analytics rows count, for the incremental analytics consumer. */
export const analyticsAppliedMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
