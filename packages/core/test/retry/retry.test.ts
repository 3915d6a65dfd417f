import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError } from '../../src/errors.js';
import { backoffDelayMs } from '../../src/retry/backoff.js';
import { type RetryOutcome, type RetryReason, retry } from '../../src/retry/retry.js';
import { isRetryError } from '../../src/retry/retry-errors.js';
import { resolveRetryPolicy } from '../../src/retry/retry-policy.js';
import type { Sleep } from '../../src/retry/sleep.js';
import { createFakeTime, fixedRandom, seededRandom } from './fake-time.js';

function networkError(code = 'ECONNRESET'): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
}

/** Replays outcomes in order; the last one repeats. */
function script<T>(...outcomes: RetryOutcome<T>[]) {
  const calls: number[] = [];
  const fn = (attempt: number): RetryOutcome<T> => {
    calls.push(attempt);
    return outcomes[Math.min(calls.length, outcomes.length) - 1]!;
  };
  return { fn, calls };
}

const RETRYABLE: RetryOutcome<never> = { status: 'retryable' };

describe('retry', () => {
  it('returns the value of a first successful attempt without waiting', async () => {
    const time = createFakeTime();
    const { fn, calls } = script({ status: 'success', value: 'ok' });
    const result = await retry(fn, {}, { ...time, random: fixedRandom(0.5) });
    expect(result).toEqual({ status: 'success', value: 'ok', attempts: 1 });
    expect(calls).toEqual([1]);
    expect(time.sleeps).toEqual([]);
  });

  it('retries retryable outcomes with jittered back-off, then succeeds', async () => {
    const time = createFakeTime();
    const reasons: Array<[number, number, RetryReason]> = [];
    const failure = new Error('503');
    const { fn, calls } = script<string>(
      { status: 'retryable', error: failure },
      { status: 'retryable', error: failure },
      { status: 'success', value: 'done' },
    );
    const result = await retry(
      fn,
      {},
      {
        ...time,
        random: fixedRandom(0.5),
        onRetry: (attempt, delayMs, reason) => reasons.push([attempt, delayMs, reason]),
      },
    );
    expect(result).toEqual({ status: 'success', value: 'done', attempts: 3 });
    expect(calls).toEqual([1, 2, 3]);
    expect(time.sleeps).toEqual([250, 500]);
    expect(reasons).toEqual([
      [1, 250, { error: failure, thrown: false, retryAfterMs: undefined }],
      [2, 500, { error: failure, thrown: false, retryAfterMs: undefined }],
    ]);
  });

  it('draws its jitter from the injected Random', async () => {
    const time = createFakeTime();
    const policy = resolveRetryPolicy({ maxAttempts: 5, maxElapsedMs: Number.POSITIVE_INFINITY });
    await retry(script(RETRYABLE).fn, policy, { ...time, random: seededRandom(7) });
    const expected = seededRandom(7);
    expect(time.sleeps).toEqual([1, 2, 3, 4].map((n) => backoffDelayMs(n, policy, expected)));
  });

  it('retries thrown network errors and reports them as thrown', async () => {
    const time = createFakeTime();
    const error = networkError('ECONNREFUSED');
    const thrownFlags: boolean[] = [];
    let calls = 0;
    const result = await retry(
      () => {
        calls++;
        if (calls < 3) throw error;
        return { status: 'success', value: calls };
      },
      {},
      {
        ...time,
        random: fixedRandom(0),
        onRetry: (_a, _d, reason) => thrownFlags.push(reason.thrown),
      },
    );
    expect(result).toEqual({ status: 'success', value: 3, attempts: 3 });
    expect(thrownFlags).toEqual([true, true]);
  });

  it('stops at maxAttempts (counting the first) with the last error', async () => {
    const time = createFakeTime();
    const last = new Error('still down');
    const { fn, calls } = script<never>({ status: 'retryable', error: last });
    const result = await retry(fn, { maxAttempts: 3 }, { ...time, random: fixedRandom(0.5) });
    expect(result).toEqual({ status: 'exhausted', attempts: 3, error: last });
    expect(calls).toEqual([1, 2, 3]);
    expect(time.sleeps).toHaveLength(2);
  });

  it('gives a retry_exhausted RetryError when no attempt left an error', async () => {
    const time = createFakeTime();
    const result = await retry(script(RETRYABLE).fn, { maxAttempts: 2 }, time);
    expect(result.status).toBe('exhausted');
    expect(isRetryError(result.status === 'success' ? undefined : result.error)).toBe(true);
    expect(result.status !== 'success' && (result.error as { code: string }).code).toBe(
      'retry_exhausted',
    );
  });

  it('never starts an attempt after maxElapsedMs, shortening the last back-off', async () => {
    const time = createFakeTime();
    const startedAt: number[] = [];
    const result = await retry(
      () => {
        startedAt.push(time.clock.now());
        time.advance(4_000); // each attempt is slow
        return RETRYABLE;
      },
      { maxAttempts: 100, maxElapsedMs: 10_000, baseDelayMs: 2_000, maxDelayMs: 2_000 },
      { ...time, random: fixedRandom(0.999) },
    );
    expect(result.status).toBe('exhausted');
    const offsets = startedAt.map((t) => t - startedAt[0]!);
    // 0 → (4000 running + 1998 back-off) → 5998 → (4000 + 1998 clamped to the 2 ms left) →
    // 10 000, the deadline; after that attempt nothing is left.
    expect(offsets).toEqual([0, 5_998, 10_000]);
    expect(time.sleeps).toEqual([1_998, 2]);
    expect(result.attempts).toBe(3);
  });

  it('clamps the back-off to the remaining budget', async () => {
    const time = createFakeTime();
    const result = await retry(
      script(RETRYABLE).fn,
      { maxAttempts: 3, maxElapsedMs: 1_000, baseDelayMs: 5_000, maxDelayMs: 5_000 },
      { ...time, random: fixedRandom(0.9) },
    );
    expect(time.sleeps).toEqual([1_000]);
    expect(result).toMatchObject({ status: 'exhausted', attempts: 2 });
  });

  it('waits max(backoff, Retry-After)', async () => {
    const time = createFakeTime();
    const { fn } = script<string>(
      { status: 'retryable', retryAfterMs: 10_000 },
      { status: 'retryable', retryAfterMs: 1 },
      { status: 'success', value: 'ok' },
    );
    const result = await retry(fn, {}, { ...time, random: fixedRandom(0.5) });
    expect(result).toMatchObject({ status: 'success', attempts: 3 });
    expect(time.sleeps).toEqual([10_000, 500]);
  });

  it('gives up at once, carrying retryAfterMs, when Retry-After exceeds the budget', async () => {
    const time = createFakeTime();
    const error = new Error('429');
    const { fn, calls } = script<never>({ status: 'retryable', retryAfterMs: 600_000, error });
    const result = await retry(fn, { maxElapsedMs: 120_000 }, time);
    expect(result).toEqual({ status: 'exhausted', attempts: 1, error, retryAfterMs: 600_000 });
    expect(calls).toEqual([1]);
    expect(time.sleeps).toEqual([]);
  });

  it('carries the last Retry-After when attempts run out', async () => {
    const time = createFakeTime();
    const { fn } = script<never>({ status: 'retryable', retryAfterMs: 1_000 });
    const result = await retry(fn, { maxAttempts: 2 }, { ...time, random: fixedRandom(0) });
    expect(result).toMatchObject({ status: 'exhausted', attempts: 2, retryAfterMs: 1_000 });
  });

  it('ignores a negative or NaN retryAfterMs', async () => {
    const time = createFakeTime();
    const { fn } = script<string>(
      { status: 'retryable', retryAfterMs: -5 },
      { status: 'retryable', retryAfterMs: Number.NaN },
      { status: 'success', value: 'ok' },
    );
    await retry(fn, {}, { ...time, random: fixedRandom(0) });
    expect(time.sleeps).toEqual([0, 0]);
  });

  it('short-circuits on reauthenticate', async () => {
    const time = createFakeTime();
    const { fn, calls } = script<never>({ status: 'retryable' }, { status: 'reauthenticate' });
    const result = await retry(fn, {}, { ...time, random: fixedRandom(0) });
    expect(calls).toEqual([1, 2]);
    expect(result.status).toBe('reauthenticate');
    expect(result.attempts).toBe(2);
    const error = result.status === 'success' ? undefined : result.error;
    expect(isRetryError(error) && error.code).toBe('retry_reauthenticate');
  });

  it('keeps the error a reauthenticate outcome gives', async () => {
    const error = new Error('401');
    const result = await retry(() => ({ status: 'reauthenticate', error }), {}, createFakeTime());
    expect(result).toEqual({ status: 'reauthenticate', attempts: 1, error });
  });

  it('stops on a fatal outcome', async () => {
    const time = createFakeTime();
    const error = new Error('400');
    const { fn, calls } = script<never>({ status: 'fatal', error });
    expect(await retry(fn, {}, time)).toEqual({ status: 'fatal', attempts: 1, error });
    expect(calls).toEqual([1]);
  });

  it('stops on a thrown error that is not a network failure', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    const result = await retry(
      () => {
        throw bug;
      },
      {},
      createFakeTime(),
    );
    expect(result).toEqual({ status: 'fatal', attempts: 1, error: bug });
  });

  it('stops waiting at once when aborted mid-sleep', async () => {
    const controller = new AbortController();
    const time = createFakeTime();
    const pendingSleep: Sleep = (_ms, signal) =>
      new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    const { fn, calls } = script(RETRYABLE);
    const result = retry(
      fn,
      {},
      {
        ...time,
        sleep: pendingSleep,
        signal: controller.signal,
        onRetry: () => queueMicrotask(() => controller.abort(new Error('shutdown'))),
      },
    );
    const settled = await result;
    expect(settled.status).toBe('aborted');
    expect(settled.attempts).toBe(1);
    expect(calls).toEqual([1]);
    const error = settled.status === 'success' ? undefined : settled.error;
    expect(isRetryError(error) && error.code).toBe('retry_aborted');
    expect((error as Error).cause).toEqual(new Error('shutdown'));
  });

  it('makes no attempt when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { fn, calls } = script(RETRYABLE);
    const result = await retry(fn, {}, { ...createFakeTime(), signal: controller.signal });
    expect(result.status).toBe('aborted');
    expect(result.attempts).toBe(0);
    expect(calls).toEqual([]);
  });

  it('passes the signal to the attempt and treats its abort as the caller abort', async () => {
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const result = await retry(
      (_attempt, signal) => {
        seen.push(signal);
        controller.abort();
        throw new DOMException('This operation was aborted', 'AbortError');
      },
      {},
      { ...createFakeTime(), signal: controller.signal },
    );
    expect(seen).toEqual([controller.signal]);
    expect(result).toMatchObject({ status: 'aborted', attempts: 1 });
  });

  it('stops when the attempt returns retryable after the caller aborted', async () => {
    const controller = new AbortController();
    const result = await retry(
      () => {
        controller.abort();
        return RETRYABLE;
      },
      {},
      { ...createFakeTime(), signal: controller.signal },
    );
    expect(result).toMatchObject({ status: 'aborted', attempts: 1 });
  });

  it('retries an AbortError from a per-request timeout', async () => {
    const time = createFakeTime();
    let calls = 0;
    const result = await retry(
      () => {
        calls++;
        if (calls === 1) throw new DOMException('timed out', 'TimeoutError');
        if (calls === 2) throw new DOMException('This operation was aborted', 'AbortError');
        return { status: 'success', value: calls };
      },
      {},
      { ...time, random: fixedRandom(0), signal: new AbortController().signal },
    );
    expect(result).toEqual({ status: 'success', value: 3, attempts: 3 });
  });

  it('returns fatal when a custom sleep fails on its own', async () => {
    const broken = new Error('sleep broke');
    const result = await retry(
      script(RETRYABLE).fn,
      {},
      {
        clock: createFakeTime().clock,
        sleep: () => Promise.reject(broken),
      },
    );
    expect(result).toEqual({ status: 'fatal', attempts: 1, error: broken });
  });

  it('rejects an invalid policy with InvalidArgumentError', async () => {
    const failure = await retry(script(RETRYABLE).fn, { maxAttempts: 0 }).catch((e) => e);
    expect(isInvalidArgumentError(failure)).toBe(true);
  });

  it('accepts an async attempt', async () => {
    const result = await retry(async () => ({ status: 'success', value: 1 }), {}, createFakeTime());
    expect(result).toEqual({ status: 'success', value: 1, attempts: 1 });
  });

  it('respects both budgets whatever the outcomes (property)', async () => {
    const outcome = fc.oneof(
      fc.constant<RetryOutcome<number>>({ status: 'retryable' }),
      fc.nat({ max: 200_000 }).map<RetryOutcome<number>>((ms) => ({
        status: 'retryable',
        retryAfterMs: ms,
      })),
      fc.constant<RetryOutcome<number>>({ status: 'success', value: 1 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(outcome, fc.nat({ max: 20_000 })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer(),
        async (steps, maxAttempts, maxElapsedMs, seed) => {
          const time = createFakeTime();
          const start = time.clock.now();
          const startedAt: number[] = [];
          const result = await retry(
            (attempt) => {
              startedAt.push(time.clock.now() - start);
              const [out, durationMs] = steps[Math.min(attempt, steps.length) - 1]!;
              time.advance(durationMs);
              return out;
            },
            { maxAttempts, maxElapsedMs },
            { ...time, random: seededRandom(seed) },
          );
          expect(result.attempts).toBe(startedAt.length);
          expect(result.attempts).toBeLessThanOrEqual(maxAttempts);
          for (const offset of startedAt) expect(offset).toBeLessThanOrEqual(maxElapsedMs);
          expect(['success', 'exhausted']).toContain(result.status);
        },
      ),
    );
  });
});
