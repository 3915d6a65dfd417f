import type { Random } from '../../src/contracts/random.js';
import { createFakeClock, type FakeClock } from '../../src/testing/fake-clock.js';
import { createFakeSleep, type FakeSleep } from '../../src/testing/fake-sleep.js';

export { createSeededRandom as seededRandom } from '../../src/testing/seeded-random.js';

/** Virtual time: `sleep` records the wait and moves the clock forward at once. */
export interface FakeTime {
  readonly clock: FakeClock;
  readonly sleep: FakeSleep;
  /** Every wait requested, in order. */
  readonly sleeps: readonly number[];
  advance(ms: number): void;
}

export const START_MS = Date.UTC(2025, 0, 15, 12, 0, 0);

export function createFakeTime(startMs = START_MS): FakeTime {
  const clock = createFakeClock({ nowMs: startMs });
  const sleep = createFakeSleep(clock);
  return { clock, sleep, sleeps: sleep.sleeps, advance: (ms) => clock.advance(ms) };
}

/** A Random that always returns the same float. */
export function fixedRandom(value: number): Random {
  return { float: () => value, bytes: (length) => new Uint8Array(length) };
}
