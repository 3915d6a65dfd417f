import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FLUSH_POLICY,
  type FlushPolicyOptions,
  type FlushState,
  nextFlushDueAtMs,
  resolveFlushPolicy,
  shouldFlush,
} from '../../src/buffer/flush-policy.js';
import { InvalidArgumentError } from '../../src/errors.js';

const policy = DEFAULT_FLUSH_POLICY;
const T0 = 1_700_000_000_000;

function state(overrides: Partial<FlushState> = {}): FlushState {
  return { queuedEvents: 1, queuedBytes: 100, lastFlushAtMs: T0, nowMs: T0 + 1_000, ...overrides };
}

describe('resolveFlushPolicy', () => {
  it('fills in the documented defaults', () => {
    expect(resolveFlushPolicy()).toEqual({
      maxBatchEvents: 500,
      maxBatchBytes: 524_288,
      flushIntervalMs: 5_000,
      flushOnShutdown: true,
    });
    expect(Object.isFrozen(resolveFlushPolicy({ maxBatchEvents: 10 }))).toBe(true);
  });

  it.each<FlushPolicyOptions>([
    { maxBatchEvents: 0 },
    { maxBatchEvents: 2.5 },
    { maxBatchBytes: 0 },
    { maxBatchBytes: Number.POSITIVE_INFINITY },
    { flushIntervalMs: 0 },
    { flushIntervalMs: -1 },
    { flushIntervalMs: Number.NaN },
    { flushOnShutdown: 'yes' as unknown as boolean },
  ])('rejects %o', (options) => {
    expect(() => resolveFlushPolicy(options)).toThrow(InvalidArgumentError);
  });

  it('allows turning the interval off', () => {
    const p = resolveFlushPolicy({ flushIntervalMs: Number.POSITIVE_INFINITY });
    expect(shouldFlush(state({ nowMs: T0 + 1e12 }), p)).toBe(false);
    expect(nextFlushDueAtMs(state(), p)).toBeUndefined();
  });
});

describe('shouldFlush', () => {
  it('keeps buffering below every threshold', () => {
    expect(shouldFlush(state(), policy)).toBe(false);
  });

  it('flushes on count', () => {
    expect(shouldFlush(state({ queuedEvents: 499 }), policy)).toBe(false);
    expect(shouldFlush(state({ queuedEvents: 500 }), policy)).toBe('count');
  });

  it('flushes on bytes', () => {
    expect(shouldFlush(state({ queuedBytes: 524_287 }), policy)).toBe(false);
    expect(shouldFlush(state({ queuedBytes: 524_288 }), policy)).toBe('bytes');
  });

  it('flushes on interval', () => {
    expect(shouldFlush(state({ nowMs: T0 + 4_999 }), policy)).toBe(false);
    expect(shouldFlush(state({ nowMs: T0 + 5_000 }), policy)).toBe('interval');
  });

  it('flushes on shutdown unless told not to', () => {
    expect(shouldFlush(state({ shuttingDown: true }), policy)).toBe('shutdown');
    const keep = resolveFlushPolicy({ flushOnShutdown: false });
    expect(shouldFlush(state({ shuttingDown: true }), keep)).toBe(false);
  });

  it('checks shutdown, count, bytes, interval in that order', () => {
    const all = state({
      queuedEvents: 1_000,
      queuedBytes: 1e9,
      nowMs: T0 + 1e6,
      shuttingDown: true,
    });
    expect(shouldFlush(all, policy)).toBe('shutdown');
    expect(shouldFlush({ ...all, shuttingDown: false }, policy)).toBe('count');
    expect(shouldFlush({ ...all, shuttingDown: false, queuedEvents: 1 }, policy)).toBe('bytes');
  });

  it('never flushes an empty buffer', () => {
    expect(
      shouldFlush(state({ queuedEvents: 0, nowMs: T0 + 1e9, shuttingDown: true }), policy),
    ).toBe(false);
  });
});

describe('nextFlushDueAtMs', () => {
  it('is one interval after the last flush', () => {
    expect(nextFlushDueAtMs(state(), policy)).toBe(T0 + 5_000);
  });

  it('is now when a flush is already due', () => {
    expect(nextFlushDueAtMs(state({ queuedEvents: 500 }), policy)).toBe(T0 + 1_000);
    expect(nextFlushDueAtMs(state({ nowMs: T0 + 9_000 }), policy)).toBe(T0 + 9_000);
  });

  it('needs no timer for an empty buffer', () => {
    expect(nextFlushDueAtMs(state({ queuedEvents: 0 }), policy)).toBeUndefined();
  });
});
