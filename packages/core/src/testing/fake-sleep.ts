import type { Sleep } from '../retry/sleep.js';
import type { FakeClock } from './fake-clock.js';

/** A {@link Sleep} that returns at once after moving a fake clock forward. */
export interface FakeSleep extends Sleep {
  /** Every wait requested, in order, in milliseconds. */
  readonly sleeps: readonly number[];
}

/**
 * Creates a sleep for tests: each call records the wait and advances `clock`
 * by it instead of waiting, so retry schedules run in virtual time. An
 * aborted signal rejects with its reason, as the real sleep does.
 *
 * @param clock - the fake clock to advance.
 * @example
 * ```ts
 * const clock = createFakeClock();
 * const sleep = createFakeSleep(clock);
 * await retry(attempt, policy, { clock, sleep });
 * sleep.sleeps; // [412, 1380, …]
 * ```
 */
export function createFakeSleep(clock: FakeClock): FakeSleep {
  const sleeps: number[] = [];
  const sleep = (delayMs: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const waitMs = Math.max(0, delayMs);
    sleeps.push(waitMs);
    clock.advance(waitMs);
    return Promise.resolve();
  };
  return Object.assign(sleep, { sleeps });
}
