import { describe, expect, it } from 'vitest';
import { createMemoryReplayGuard } from '../../src/crypto/index.js';
import { isInvalidArgumentError } from '../../src/errors.js';
import { manualClock } from './fixtures.js';

const T0 = 1_700_000_000_000;

describe('createMemoryReplayGuard', () => {
  it('accepts an id once', () => {
    const guard = createMemoryReplayGuard({ clock: manualClock(T0) });
    expect(guard.checkAndRemember('a', T0)).toBe(true);
    expect(guard.checkAndRemember('a', T0)).toBe(false);
    expect(guard.checkAndRemember('b', T0)).toBe(true);
  });

  it('refuses messages older than its window, since it cannot vouch for them', () => {
    const clock = manualClock(T0);
    const guard = createMemoryReplayGuard({ clock, windowMs: 1_000 });
    expect(guard.checkAndRemember('old', T0 - 1_001)).toBe(false);
    expect(guard.checkAndRemember('edge', T0 - 1_000)).toBe(true);
  });

  it('forgets expired ids, making room without refusing fresh messages', () => {
    const clock = manualClock(T0);
    const guard = createMemoryReplayGuard({ clock, windowMs: 1_000, maxEntries: 2 });
    expect(guard.checkAndRemember('a', T0)).toBe(true);
    expect(guard.checkAndRemember('b', T0)).toBe(true);
    clock.advance(1_001);
    // a and b expired; a replay of them is refused by age, not by memory.
    expect(guard.checkAndRemember('a', T0)).toBe(false);
    expect(guard.checkAndRemember('c', T0 + 1_001)).toBe(true);
    expect(guard.checkAndRemember('d', T0 + 1_001)).toBe(true);
    expect(guard.checkAndRemember('c', T0 + 1_001)).toBe(false);
  });

  it('stays bounded under a flood and never lets an evicted id be replayed', () => {
    const clock = manualClock(T0);
    const guard = createMemoryReplayGuard({ clock, windowMs: 60_000, maxEntries: 3 });
    for (let i = 0; i < 3; i += 1) expect(guard.checkAndRemember(`m${i}`, T0 + i)).toBe(true);
    // m0 (timestamp T0) is evicted to make room for m3.
    expect(guard.checkAndRemember('m3', T0 + 3)).toBe(true);
    expect(guard.checkAndRemember('m0', T0)).toBe(false);
    // Anything not newer than the evicted timestamp is refused; newer messages still pass.
    expect(guard.checkAndRemember('late', T0)).toBe(false);
    expect(guard.checkAndRemember('m4', T0 + 4)).toBe(true);
    for (let i = 5; i < 10_000; i += 1) guard.checkAndRemember(`m${i}`, T0 + i);
    expect(guard.checkAndRemember('m9999', T0 + 9_999)).toBe(false);
    expect(guard.checkAndRemember('m9000', T0 + 9_000)).toBe(false);
  });

  it('rejects impossible options', () => {
    const clock = manualClock(T0);
    expect(() => createMemoryReplayGuard({ clock, windowMs: 0 })).toThrow();
    expect(() => createMemoryReplayGuard({ clock, maxEntries: 1.5 })).toThrow();
    try {
      createMemoryReplayGuard({ clock, maxEntries: -1 });
    } catch (error) {
      expect(isInvalidArgumentError(error)).toBe(true);
    }
  });
});
