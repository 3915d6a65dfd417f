import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { FieldlineDatabase } from '../../db/database-schema.js';
import type { IngestionStep } from '../pipeline.js';

/** Options of {@link createCountConsentRefusalsStep}. */
export interface CountConsentRefusalsStepOptions {
  /** The Fieldline database. */
  readonly db: Kysely<FieldlineDatabase>;
}

/**
 * Counts the batch's events refused with `consent_required` into `consent_refusals`, per
 * device, local day of `occurredAt` (the tenant's time zone from `tenant_settings`, `UTC`
 * without one) and scope, for the compliance report. One upsert per batch, after the rest of
 * the pipeline has answered (so the store step, or the dead-letter step when storing failed,
 * has finished): a request that fails is retried by the agent, and its refusals are counted
 * when it succeeds, not twice.
 *
 * @param options - the database.
 * @returns the step, named `count-consent-refusals`; the default list runs it just before
 *   `dead-letter`.
 * @example
 * ```ts
 * insertStepBefore(steps, 'dead-letter', createCountConsentRefusalsStep({ db }));
 * ```
 */
export function createCountConsentRefusalsStep(
  options: CountConsentRefusalsStepOptions,
): IngestionStep {
  const { db } = options;
  return {
    name: 'count-consent-refusals',
    async run(ctx, next) {
      await next();
      const refused = ctx.entries.flatMap((entry) =>
        entry.status === 'rejected' &&
        entry.rejection?.code === 'consent_required' &&
        entry.event !== undefined
          ? [{ scope: entry.event.scope, occurred_at: entry.event.occurredAt }]
          : [],
      );
      if (refused.length === 0) return;
      // The events travel as one jsonb parameter and are grouped server-side, where the
      // tenant's zone turns each instant into its local day.
      await sql`
        insert into consent_refusals (tenant_id, device_id, day, scope, events)
        select ${ctx.device.tenantId}, ${ctx.device.id},
          (r.occurred_at at time zone coalesce(
            (select time_zone from tenant_settings where tenant_id = ${ctx.device.tenantId}),
            'UTC'))::date as day,
          r.scope, count(*)
        from jsonb_to_recordset(${JSON.stringify(refused)}::jsonb) as r(scope text, occurred_at timestamptz)
        group by 3, 4
        on conflict (device_id, day, scope)
        do update set events = consent_refusals.events + excluded.events`.execute(db);
    },
  };
}
