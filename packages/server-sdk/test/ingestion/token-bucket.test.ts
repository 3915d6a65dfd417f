import { createFakeClock } from '@fieldline/core/testing';
import { describe, expect, it } from 'vitest';
import { createTokenBucketLimiter } from '../../src/ingestion/index.js';

describe('createTokenBucketLimiter', () => {
  it('allows a burst, then the refill rate, per key', () => {
    const clock = createFakeClock({ nowMs: 1_000_000 });
    const limiter = createTokenBucketLimiter({ capacity: 3, refillPerSecond: 2, clock });
    expect([1, 2, 3, 4].map(() => limiter.take('a').allowed)).toEqual([true, true, true, false]);
    expect(limiter.take('b').allowed).toBe(true);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 500 });
    clock.advance(500);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('lets a cost above capacity through only from a full bucket, then waits for the debt', () => {
    const clock = createFakeClock({ nowMs: 0 });
    const limiter = createTokenBucketLimiter({ capacity: 10, refillPerSecond: 10, clock });
    expect(limiter.take('a', 25)).toEqual({ allowed: true, remaining: -15 });
    expect(limiter.take('a', 1)).toEqual({ allowed: false, retryAfterMs: 1600 });
  });

  it('keeps memory bounded and forgets idle buckets', () => {
    const clock = createFakeClock({ nowMs: 0 });
    const limiter = createTokenBucketLimiter({
      capacity: 2,
      refillPerSecond: 1,
      maxKeys: 100,
      clock,
    });
    for (let i = 0; i < 1000; i += 1) limiter.take(`k${i}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
    clock.advance(5000);
    limiter.take('fresh');
    expect(limiter.size).toBe(1);
  });

  it('refuses impossible options', () => {
    expect(() => createTokenBucketLimiter({ capacity: 0 })).toThrow(/capacity/);
    expect(() => createTokenBucketLimiter({ refillPerSecond: -1 })).toThrow(/refillPerSecond/);
  });
});
