import { eventBatchSchema, InvalidArgumentError } from '@fieldline/core';
import { HttpError } from '../../http/http-error.js';
import type { IngestionEntry } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';

const MAX_ID_LENGTH = 128;
const MAX_ISSUES = 20;

function readableId(input: unknown): string {
  if (typeof input !== 'object' || input === null) return '';
  const id = (input as { id?: unknown }).id;
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH ? id : '';
}

/**
 * Checks the opened payload against `eventBatchSchema` (batch id, sentAt, 1–10,000 events,
 * optional drop counts) and creates one pending entry per event, in order. A payload that
 * does not match is 400 `invalid_request` with the failing paths in `details.issues`.
 *
 * @returns the step, named `parse-batch`.
 * @example
 * ```ts
 * const steps = [openBatch, createParseBatchStep(), validate];
 * ```
 */
export function createParseBatchStep(): IngestionStep {
  return {
    name: 'parse-batch',
    async run(ctx, next) {
      if (ctx.message === undefined) {
        throw new InvalidArgumentError(
          'Ingestion step "parse-batch" must come after "open-batch".',
        );
      }
      const parsed = eventBatchSchema.safeParse(ctx.message.payload);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, MAX_ISSUES).map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
          code: issue.code,
        }));
        throw new HttpError('invalid_request', 'The opened payload is not a valid event batch.', {
          details: { issues, issueCount: parsed.error.issues.length },
        });
      }
      ctx.batch = parsed.data;
      ctx.entries = parsed.data.events.map(
        (input, index): IngestionEntry => ({
          index,
          id: readableId(input),
          input,
          status: 'pending',
        }),
      );
      await next();
    },
  };
}
