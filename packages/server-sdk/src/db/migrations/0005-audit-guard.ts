import { type Kysely, type Migration, sql } from 'kysely';

// The audit log is append-only in the database itself, not only by convention of the code:
// a trigger refuses every UPDATE and DELETE (per row) and every TRUNCATE (per statement),
// whoever sends them. Only a role that may ALTER the table (its owner, a superuser) can switch
// the triggers off, and that is what signed checkpoints kept outside the database detect.
// plpgsql ships with PostgreSQL and with PGlite, so one migration serves both.
//
// Dead letters gain what a replay records: its state, when it ran, how often, and its result.
const up = [
  sql`create function audit_log_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % refused', tg_op
        using errcode = '42501',
              hint = 'Audit rows are never changed or removed; append a new row instead.';
    end
  $$`,
  sql`create trigger audit_log_no_update_delete before update or delete on audit_log
    for each row execute function audit_log_refuse_change()`,
  sql`create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_refuse_change()`,
  sql`alter table dead_letters
    add column replay_status text check (replay_status in ('replaying', 'replayed', 'failed')),
    add column replay_started_at timestamptz,
    add column replayed_at timestamptz,
    add column replay_attempts integer not null default 0,
    add column replay_result jsonb`,
  sql`create index dead_letters_tenant on dead_letters (tenant_id, seq)`,
  sql`create index dead_letters_device on dead_letters (device_id, seq)`,
];

const down = [
  sql`drop index if exists dead_letters_device`,
  sql`drop index if exists dead_letters_tenant`,
  sql`alter table dead_letters
    drop column replay_result,
    drop column replay_attempts,
    drop column replayed_at,
    drop column replay_started_at,
    drop column replay_status`,
  sql`drop trigger if exists audit_log_no_truncate on audit_log`,
  sql`drop trigger if exists audit_log_no_update_delete on audit_log`,
  sql`drop function if exists audit_log_refuse_change()`,
];

/** Append-only audit log enforced by triggers; replay bookkeeping on dead letters. */
export const auditGuardMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of up) await statement.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const statement of down) await statement.execute(db);
  },
};
