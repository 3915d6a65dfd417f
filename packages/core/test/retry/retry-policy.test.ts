import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError } from '../../src/errors.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicy } from '../../src/retry/retry-policy.js';

describe('resolveRetryPolicy', () => {
  it('fills in the documented defaults', () => {
    expect(resolveRetryPolicy()).toEqual({
      baseDelayMs: 500,
      factor: 2,
      maxDelayMs: 30_000,
      maxAttempts: 5,
      maxElapsedMs: 120_000,
    });
    expect(DEFAULT_RETRY_POLICY).toEqual(resolveRetryPolicy({}));
  });

  it('keeps overrides and freezes the result', () => {
    const policy = resolveRetryPolicy({ maxAttempts: 3, baseDelayMs: 0 });
    expect(policy.maxAttempts).toBe(3);
    expect(policy.baseDelayMs).toBe(0);
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it('accepts one infinite budget', () => {
    expect(resolveRetryPolicy({ maxElapsedMs: Number.POSITIVE_INFINITY }).maxElapsedMs).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(resolveRetryPolicy({ maxAttempts: Number.POSITIVE_INFINITY }).maxAttempts).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it.each([
    { baseDelayMs: -1 },
    { baseDelayMs: Number.NaN },
    { baseDelayMs: Number.POSITIVE_INFINITY },
    { factor: 0.5 },
    { factor: Number.NaN },
    { maxDelayMs: -5 },
    { maxDelayMs: 100 },
    { maxAttempts: 0 },
    { maxAttempts: 2.5 },
    { maxAttempts: -1 },
    { maxElapsedMs: -1 },
    { maxElapsedMs: Number.NaN },
    { maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: Number.POSITIVE_INFINITY },
  ])('rejects %o with InvalidArgumentError', (options) => {
    let thrown: unknown;
    try {
      resolveRetryPolicy(options);
    } catch (error) {
      thrown = error;
    }
    expect(isInvalidArgumentError(thrown)).toBe(true);
  });
});
