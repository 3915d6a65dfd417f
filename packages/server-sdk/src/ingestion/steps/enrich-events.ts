import { pendingEntries } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';

/**
 * Turns each pending, validated event into the row to store: adds the tenant, the device and
 * the receive time, and lower-cases the id. Custom enrichment steps go right after it and may
 * add keys to `entry.enriched.data`.
 *
 * @returns the step, named `enrich-events`.
 * @example
 * ```ts
 * insertStepAfter(steps, 'enrich-events', ingestionStep('geo', addCountry));
 * ```
 */
export function createEnrichEventsStep(): IngestionStep {
  return {
    name: 'enrich-events',
    async run(ctx, next) {
      for (const entry of pendingEntries(ctx)) {
        const event = entry.event;
        if (event === undefined) continue;
        entry.enriched = {
          id: event.id.toLowerCase(),
          tenantId: ctx.device.tenantId,
          deviceId: ctx.device.id,
          type: event.type,
          scope: event.scope,
          seq: event.seq,
          occurredAt: event.occurredAt,
          receivedAt: ctx.receivedAt,
          data: { ...(event.data as Record<string, unknown>) },
        };
      }
      await next();
    },
  };
}
