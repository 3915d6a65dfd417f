import { InvalidArgumentError } from '@fieldline/core';
import { HttpError } from '../../http/http-error.js';
import {
  type ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  createConcurrencyLimiter,
} from '../concurrency-limiter.js';
import type { IngestionStep } from '../pipeline.js';

/** Options of {@link createLoadSheddingStep}. */
export interface LoadSheddingStepOptions extends ConcurrencyLimiterOptions {
  /**
   * The limiter to use; when given, `maxInFlight` and `maxQueue` are ignored.
   * @default createConcurrencyLimiter(options)
   */
  readonly limiter?: ConcurrencyLimiter;
  /**
   * The `retry-after` sent with 503 `overloaded`, in seconds.
   * @default 1
   */
  readonly retryAfterSeconds?: number;
}

/**
 * Caps the batches processed at once across all devices (default 64, no queue): beyond that
 * the request is refused with 503 `overloaded` and `retry-after`, instead of piling up in
 * memory while the database is slow. The slot is held until every later step has finished.
 *
 * @param options - limits or a shared limiter, and the retry delay.
 * @returns the step, named `load-shedding`.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for bad limits or a
 *   non-positive `retryAfterSeconds`.
 * @example
 * ```ts
 * createLoadSheddingStep({ maxInFlight: 16, maxQueue: 16 });
 * ```
 */
export function createLoadSheddingStep(options: LoadSheddingStepOptions = {}): IngestionStep {
  const limiter = options.limiter ?? createConcurrencyLimiter(options);
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds <= 0) {
    throw new InvalidArgumentError('retryAfterSeconds must be a positive integer.', {
      retryAfterSeconds,
    });
  }
  return {
    name: 'load-shedding',
    async run(_ctx, next) {
      const release = await limiter.acquire();
      if (release === undefined) {
        throw new HttpError('overloaded', `The server is busy; retry in ${retryAfterSeconds} s.`, {
          headers: { 'retry-after': String(retryAfterSeconds) },
        });
      }
      try {
        await next();
      } finally {
        release();
      }
    },
  };
}
