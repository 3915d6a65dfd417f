import { type RawBuilder, sql } from 'kysely';

/**
 * An `insert into outbox` of one notification per row of a data-modifying CTE, for writers
 * that change many rows in one statement (presence, command statuses): the notifications are
 * written by that same statement, so they cost no extra round trip and commit with the change.
 *
 * @param cte - the name of the CTE (`with <cte> as (update … returning …)`).
 * @param topic - the notification type, or an SQL expression of the CTE's columns.
 * @param payload - a `jsonb_build_object(…)` over the CTE's columns.
 * @param where - an optional filter over the CTE's columns.
 * @returns the insert, to use as a further CTE.
 * @internal
 */
export function notificationsFrom(
  cte: string,
  topic: string | RawBuilder<string>,
  payload: RawBuilder<unknown>,
  where?: RawBuilder<boolean>,
): RawBuilder<unknown> {
  const topicSql = typeof topic === 'string' ? sql`${topic}::text` : topic;
  return sql`insert into outbox (tenant_id, topic, payload)
    select tenant_id, ${topicSql}, ${payload} from ${sql.table(cte)}
    ${where === undefined ? sql`` : sql`where ${where}`}`;
}
