import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';

/** Options of {@link createTokenBucketLimiter}. */
export interface TokenBucketLimiterOptions {
  /**
   * Most tokens a bucket holds: the burst allowed after a quiet period.
   * @default 40
   */
  readonly capacity?: number;
  /**
   * Tokens added per second: the sustained rate.
   * @default 20
   */
  readonly refillPerSecond?: number;
  /**
   * Most buckets kept at once. Buckets that have refilled completely are forgotten first (a
   * full bucket is the same as no bucket); past this, the least recently used are dropped,
   * which only ever lets those keys start again with a full bucket.
   * @default 100_000
   */
  readonly maxKeys?: number;
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
}

/** The verdict of {@link TokenBucketLimiter.take}. */
export type TokenBucketDecision =
  | { readonly allowed: true; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

/** Per-key token buckets, in memory (one process). */
export interface TokenBucketLimiter {
  /**
   * Takes `cost` tokens from `key`'s bucket if it has them.
   *
   * @param key - e.g. a device id.
   * @param cost - tokens to take (≥ 0). A cost above the capacity is allowed only from a full
   *   bucket, which then goes into debt, so a large batch waits for it to refill.
   * @returns allowed with what remains, or refused with when enough tokens will be there.
   */
  take(key: string, cost?: number): TokenBucketDecision;
  /** How many buckets are held now. */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Creates per-key token buckets: each key may spend `capacity` at once and `refillPerSecond`
 * on average. Memory is bounded by `maxKeys`; idle (full) buckets are swept at most once per
 * full-refill period, so `take` is O(1) amortized.
 *
 * @param options - capacity, rate, bound and clock.
 * @returns the limiter.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when a number is not
 *   positive.
 * @example
 * ```ts
 * const limiter = createTokenBucketLimiter({ capacity: 40, refillPerSecond: 20 });
 * if (!limiter.take(device.id).allowed) throw new HttpError('rate_limited', 'Slow down.');
 * ```
 */
export function createTokenBucketLimiter(
  options: TokenBucketLimiterOptions = {},
): TokenBucketLimiter {
  const capacity = options.capacity ?? 40;
  const refillPerSecond = options.refillPerSecond ?? 20;
  const maxKeys = options.maxKeys ?? 100_000;
  const clock = options.clock ?? systemClock;
  for (const [name, value] of Object.entries({ capacity, refillPerSecond, maxKeys })) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new InvalidArgumentError(`${name} must be a positive number.`, { [name]: value });
    }
  }
  const refillPerMs = refillPerSecond / 1000;
  const fullRefillMs = capacity / refillPerMs;
  // Map iteration is insertion order; re-inserting on use makes it least-recently-used order.
  const buckets = new Map<string, Bucket>();
  let lastSweepMs = clock.now();

  const level = (bucket: Bucket, nowMs: number): number =>
    Math.min(capacity, bucket.tokens + Math.max(0, nowMs - bucket.atMs) * refillPerMs);

  function sweep(nowMs: number): void {
    for (const [key, bucket] of buckets) {
      if (level(bucket, nowMs) >= capacity) buckets.delete(key);
    }
    lastSweepMs = nowMs;
  }

  return {
    take(key, cost = 1) {
      if (!(cost >= 0)) throw new InvalidArgumentError('cost must be ≥ 0.', { cost });
      const nowMs = clock.now();
      if (nowMs - lastSweepMs >= fullRefillMs) sweep(nowMs);
      const existing = buckets.get(key);
      const tokens = existing === undefined ? capacity : level(existing, nowMs);
      const affordable = cost <= capacity ? tokens >= cost : tokens >= capacity;
      if (!affordable) {
        const needed = Math.min(cost, capacity) - tokens;
        return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(needed / refillPerMs)) };
      }
      const bucket = existing ?? { tokens, atMs: nowMs };
      bucket.tokens = tokens - cost;
      bucket.atMs = nowMs;
      buckets.delete(key);
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) {
        sweep(nowMs);
        while (buckets.size > maxKeys) {
          const oldest = buckets.keys().next();
          if (oldest.done === true) break;
          buckets.delete(oldest.value);
        }
      }
      return { allowed: true, remaining: bucket.tokens };
    },
    get size() {
      return buckets.size;
    },
  };
}
