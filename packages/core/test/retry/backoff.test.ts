import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { backoffCeilingMs, backoffDelayMs } from '../../src/retry/backoff.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicy } from '../../src/retry/retry-policy.js';
import { fixedRandom, seededRandom } from './fake-time.js';

describe('backoffCeilingMs', () => {
  it('grows exponentially from the base and stops at the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffCeilingMs(n, DEFAULT_RETRY_POLICY));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('stays at the cap when the exponential overflows', () => {
    expect(backoffCeilingMs(5000, DEFAULT_RETRY_POLICY)).toBe(30_000);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects attempt %s', (attempt) => {
    expect(() => backoffCeilingMs(attempt, DEFAULT_RETRY_POLICY)).toThrow(InvalidArgumentError);
  });
});

describe('backoffDelayMs', () => {
  it('spans the whole window [0, ceiling] (full jitter)', () => {
    expect(backoffDelayMs(3, DEFAULT_RETRY_POLICY, fixedRandom(0))).toBe(0);
    expect(backoffDelayMs(3, DEFAULT_RETRY_POLICY, fixedRandom(0.5))).toBe(1000);
    expect(backoffDelayMs(3, DEFAULT_RETRY_POLICY, fixedRandom(0.999_999_9))).toBe(2000);
  });

  it('keeps a misbehaving Random inside the window', () => {
    expect(backoffDelayMs(1, DEFAULT_RETRY_POLICY, fixedRandom(7))).toBe(0);
    expect(backoffDelayMs(1, DEFAULT_RETRY_POLICY, fixedRandom(Number.NaN))).toBe(0);
  });

  it('replays the same schedule from the same seed', () => {
    const schedule = (seed: number) => {
      const random = seededRandom(seed);
      return [1, 2, 3, 4].map((n) => backoffDelayMs(n, DEFAULT_RETRY_POLICY, random));
    };
    expect(schedule(42)).toEqual(schedule(42));
    expect(schedule(42)).not.toEqual(schedule(43));
  });

  it('is always a whole number within [0, min(cap, base·factor^(attempt-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseDelayMs, factor, extraCapMs, attempt, draw) => {
          const policy = resolveRetryPolicy({
            baseDelayMs,
            factor,
            maxDelayMs: baseDelayMs + extraCapMs,
          });
          const delay = backoffDelayMs(attempt, policy, fixedRandom(draw));
          // 0 · factor^n is 0 even where factor^n overflows to Infinity.
          const growth = baseDelayMs === 0 ? 0 : baseDelayMs * factor ** (attempt - 1);
          const bound = Math.min(policy.maxDelayMs, growth);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.ceil(bound));
          expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
        },
      ),
    );
  });
});

describe('backoffDelayMs with a zero base', () => {
  it('is 0 even when factor^(attempt-1) overflows', () => {
    const policy = resolveRetryPolicy({ baseDelayMs: 0, factor: 10 });
    expect(backoffCeilingMs(2000, policy)).toBe(0);
    expect(backoffDelayMs(2000, policy, fixedRandom(0.9))).toBe(0);
  });
});
