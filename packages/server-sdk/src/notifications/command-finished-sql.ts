import type { RawBuilder } from 'kysely';
import { sql } from 'kysely';
import { notificationsFrom } from './notification-sql.js';

/**
 * The `command.finished` notifications of the commands a CTE changed (its rows: `id`,
 * `tenant_id`, `device_id`, `type`, `status`), one for each that reached a final status
 * (`acked`, `rejected`, `failed`, `expired`), for the statement that makes the change.
 *
 * @param cte - the CTE's name.
 * @param atIso - when the commands finished, RFC 3339.
 * @returns an insert to append as a further CTE.
 * @internal
 */
export function commandFinishedNotifications(cte: string, atIso: string): RawBuilder<unknown> {
  return notificationsFrom(
    cte,
    'command.finished',
    sql`jsonb_build_object('commandId', id, 'deviceId', device_id, 'commandType', type,
      'status', status, 'at', ${atIso}::text)`,
    sql<boolean>`status in ('acked', 'rejected', 'failed', 'expired')`,
  );
}
