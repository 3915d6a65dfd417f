import type { HttpErrorCode } from '@fieldline/core';
import { isHttpError } from '../../http/http-error.js';
import type { IngestionContext } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';
import { COUNTED_DROPS } from './store-events.js';

/** What one request did, for metrics. */
export interface IngestionSummary {
  /** `ok`, the `HttpError` code the request was answered with, or `internal_error`. */
  readonly outcome: 'ok' | HttpErrorCode;
  /** The sending device. */
  readonly deviceId: string;
  /** Its tenant. */
  readonly tenantId: string;
  /** Events in the batch (0 when it was not parsed). */
  readonly events: number;
  /** Events newly stored. */
  readonly accepted: number;
  /** Events already stored or repeated in the batch. */
  readonly duplicates: number;
  /** Events rejected. */
  readonly rejected: number;
  /** Rejected events by code (`invalid_event`, `consent_required`, …). */
  readonly rejectedByCode: Readonly<Record<string, number>>;
  /** Drop counts the agent reported with this batch and the server recorded (resends excluded). */
  readonly agentDrops: Readonly<Record<string, number>>;
  /** Wall time spent in the pipeline, in milliseconds. */
  readonly durationMs: number;
}

/** Options of {@link createMeasureIngestionStep}. */
export interface MeasureIngestionStepOptions {
  /**
   * Called once per request, after it finished or failed. Errors it throws are ignored, so
   * metrics can never fail a request.
   */
  readonly onResult: (summary: IngestionSummary) => void;
  /**
   * Monotonic time in milliseconds.
   * @default performance.now
   */
  readonly now?: () => number;
}

function summarize(
  ctx: IngestionContext,
  outcome: IngestionSummary['outcome'],
  durationMs: number,
): IngestionSummary {
  const rejectedByCode: Record<string, number> = {};
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  // Counted from the entries rather than the response, so failed requests report too.
  for (const entry of ctx.entries) {
    if (entry.status === 'accepted') accepted += 1;
    else if (entry.status === 'duplicate') duplicates += 1;
    else if (entry.status === 'rejected') {
      rejected += 1;
      const code = entry.rejection?.code ?? 'unknown';
      rejectedByCode[code] = (rejectedByCode[code] ?? 0) + 1;
    }
  }
  return {
    outcome,
    deviceId: ctx.device.id,
    tenantId: ctx.device.tenantId,
    events: ctx.entries.length,
    accepted,
    duplicates,
    rejected,
    rejectedByCode,
    agentDrops:
      (ctx.locals.get(COUNTED_DROPS) as Readonly<Record<string, number>> | undefined) ?? {},
    durationMs,
  };
}

/**
 * Times every request and reports a summary through `onResult` (e.g. into Prometheus
 * counters and a histogram). Put it first so it sees refusals by the limits too.
 *
 * @param options - the callback and clock.
 * @returns the step, named `measure`.
 * @example
 * ```ts
 * createMeasureIngestionStep({ onResult: (s) => histogram.observe({ outcome: s.outcome }, s.durationMs / 1000) });
 * ```
 */
export function createMeasureIngestionStep(options: MeasureIngestionStepOptions): IngestionStep {
  const now = options.now ?? (() => performance.now());
  const report = (summary: IngestionSummary) => {
    try {
      options.onResult(summary);
    } catch {
      // Metrics must never fail a request.
    }
  };
  return {
    name: 'measure',
    async run(ctx, next) {
      const startedMs = now();
      try {
        await next();
      } catch (error) {
        report(
          summarize(ctx, isHttpError(error) ? error.code : 'internal_error', now() - startedMs),
        );
        throw error;
      }
      report(summarize(ctx, 'ok', now() - startedMs));
    },
  };
}
