import { pendingEntries } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';

/**
 * Marks `duplicate` every pending event whose id (compared case-insensitively) already
 * appeared earlier among the batch's pending events. Duplicates of stored events are found by
 * the store step, atomically, by its `on conflict do nothing` insert: a separate lookup here
 * would cost a query and still race with concurrent batches.
 *
 * @returns the step, named `dedup-batch`.
 * @example
 * ```ts
 * insertStepAfter(steps, 'check-consent', createDedupBatchStep());
 * ```
 */
export function createDedupBatchStep(): IngestionStep {
  return {
    name: 'dedup-batch',
    async run(ctx, next) {
      const seen = new Set<string>();
      for (const entry of pendingEntries(ctx)) {
        const key = entry.id.toLowerCase();
        if (seen.has(key)) entry.status = 'duplicate';
        else seen.add(key);
      }
      await next();
    },
  };
}
