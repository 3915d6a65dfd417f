import type { EventResult } from '@fieldline/core';
import { InvalidArgumentError } from '@fieldline/core';
import type { IngestionEntry } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';

function resultOf(entry: IngestionEntry): EventResult {
  switch (entry.status) {
    case 'accepted':
      return { id: entry.id, status: 'accepted' };
    case 'duplicate':
      return { id: entry.id, status: 'duplicate' };
    case 'rejected':
      return {
        id: entry.id,
        status: 'rejected',
        code: entry.rejection?.code ?? 'rejected',
        message: entry.rejection?.message ?? '',
      };
    default:
      throw new InvalidArgumentError(
        `Event ${entry.index} was never settled; is the "store-events" step missing?`,
      );
  }
}

/**
 * Builds `ctx.response`: one result per event in input order (an element without a readable
 * id has id `""`; match it by position), the counts, and the batch id. Keep it last, or after
 * any step that settles events.
 *
 * @returns the step, named `build-results`.
 * @example
 * ```ts
 * const steps = [...mySteps, createBuildResultsStep()];
 * ```
 */
export function createBuildResultsStep(): IngestionStep {
  return {
    name: 'build-results',
    async run(ctx, next) {
      if (ctx.batch === undefined) {
        throw new InvalidArgumentError(
          'Ingestion step "build-results" must come after "parse-batch".',
        );
      }
      const results = ctx.entries.map(resultOf);
      let accepted = 0;
      let duplicates = 0;
      for (const result of results) {
        if (result.status === 'accepted') accepted += 1;
        else if (result.status === 'duplicate') duplicates += 1;
      }
      ctx.response = {
        batchId: ctx.batch.batchId,
        results,
        accepted,
        duplicates,
        rejected: results.length - accepted - duplicates,
      };
      await next();
    },
  };
}
