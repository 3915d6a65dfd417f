import { HttpError } from '../../http/http-error.js';
import type { IngestionContext } from '../ingestion-context.js';
import type { IngestionStep } from '../pipeline.js';
import {
  createTokenBucketLimiter,
  type TokenBucketLimiter,
  type TokenBucketLimiterOptions,
} from '../token-bucket.js';

/** Options of {@link createRateLimitStep}. */
export interface RateLimitStepOptions extends TokenBucketLimiterOptions {
  /**
   * The buckets to use; when given, the bucket options are ignored. Pass one to share it.
   * @default createTokenBucketLimiter(options)
   */
  readonly limiter?: TokenBucketLimiter;
  /**
   * Tokens one request costs. The default counts batches; to count events, place a second
   * rate-limit step (with another `name`) after `parse-batch` with
   * `cost: (ctx) => ctx.entries.length`.
   * @default () => 1
   */
  readonly cost?: (ctx: IngestionContext) => number;
  /**
   * The bucket key.
   * @default (ctx) => ctx.device.id
   */
  readonly key?: (ctx: IngestionContext) => string;
  /**
   * Step name.
   * @default 'rate-limit'
   */
  readonly name?: string;
}

/**
 * Limits each device with a token bucket (default: bursts of 40 batches, 20 per second
 * sustained). Refusals are 429 `rate_limited` with `retry-after` in whole seconds.
 *
 * @param options - bucket sizing or a limiter, cost and key.
 * @returns the step, named `rate-limit` unless renamed.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for bad bucket
 *   options.
 * @example
 * ```ts
 * createRateLimitStep({ capacity: 10, refillPerSecond: 2, clock });
 * ```
 */
export function createRateLimitStep(options: RateLimitStepOptions = {}): IngestionStep {
  const limiter = options.limiter ?? createTokenBucketLimiter(options);
  const cost = options.cost ?? (() => 1);
  const key = options.key ?? ((ctx: IngestionContext) => ctx.device.id);
  return {
    name: options.name ?? 'rate-limit',
    async run(ctx, next) {
      const decision = limiter.take(key(ctx), cost(ctx));
      if (!decision.allowed) {
        const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
        throw new HttpError('rate_limited', `Too many requests; retry in ${seconds} s.`, {
          details: { retryAfterMs: decision.retryAfterMs },
          headers: { 'retry-after': String(seconds) },
        });
      }
      await next();
    },
  };
}
