import type { Clock } from '../contracts/clock.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Remembers which message ids were accepted, so a captured frame cannot be delivered twice.
 * {@link openMessage} calls it only for frames whose signature and timestamp already passed.
 *
 * Servers implement it on their database (an insert into a table with a unique id, rows
 * deleted once older than the skew window) so that every instance shares one memory.
 */
export interface ReplayGuard {
  /**
   * Records `messageId` and says whether it is new.
   *
   * @param messageId - the frame's message UUID (lower-case).
   * @param timestampMs - the frame's signed timestamp, to know when the id can be forgotten.
   * @returns true if the id was not seen before (and is now remembered); false if it was, or if
   *   the guard can no longer vouch for a message this old.
   */
  checkAndRemember(messageId: string, timestampMs: number): boolean | Promise<boolean>;
}

/** The in-memory {@link ReplayGuard}: synchronous, for one process. */
export interface MemoryReplayGuard extends ReplayGuard {
  /**
   * Remembers `messageId` and answers whether it is new and inside the window.
   *
   * @param messageId - the frame's message id.
   * @param timestampMs - the frame's (already verified) timestamp.
   * @returns true the first time an id is seen inside the window, false afterwards.
   */
  checkAndRemember(messageId: string, timestampMs: number): boolean;
}

/** Options of {@link createMemoryReplayGuard}. */
export interface MemoryReplayGuardOptions {
  /** Source of the current time, used to forget expired ids. */
  readonly clock: Clock;
  /**
   * How long after its timestamp an id is remembered. Must be at least the `maxSkewMs` given
   * to {@link openMessage}: a frame older than that is refused before it reaches the guard, so
   * its id can safely be forgotten.
   * @default 60_000
   */
  readonly windowMs?: number;
  /**
   * Most ids held at once. When full, the oldest-inserted ids are dropped and every message at
   * or before the newest dropped timestamp is refused from then on, so memory stays bounded
   * without ever letting a replay through (under such a flood some genuine, slightly late
   * messages are refused instead and will be retried by their sender).
   * @default 100_000
   */
  readonly maxEntries?: number;
}

/**
 * Creates an in-process {@link ReplayGuard}: right for a single agent or a single-instance
 * server. Memory is bounded by `maxEntries`, and expired ids are swept at most once per window,
 * so a call is O(1) amortized.
 *
 * @param options - clock, window and capacity.
 * @returns the guard.
 * @throws {@link InvalidArgumentError} when `windowMs` or `maxEntries` is not a positive integer.
 * @example
 * ```ts
 * const replayGuard = createMemoryReplayGuard({ clock: systemClock });
 * const opened = await openMessage(frame, { ...options, replayGuard });
 * ```
 */
export function createMemoryReplayGuard(options: MemoryReplayGuardOptions): MemoryReplayGuard {
  const { clock } = options;
  const windowMs = options.windowMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) {
    throw new InvalidArgumentError('windowMs must be a positive integer.', { windowMs });
  }
  if (!Number.isSafeInteger(maxEntries) || maxEntries <= 0) {
    throw new InvalidArgumentError('maxEntries must be a positive integer.', { maxEntries });
  }

  // id -> timestamp; Map iteration is insertion order, which is what eviction drops first.
  const seen = new Map<string, number>();
  // Messages at or before this timestamp are refused because an id that old may have been
  // evicted for capacity, so the guard can no longer tell whether it is a replay.
  let floorMs = Number.NEGATIVE_INFINITY;
  let lastSweepMs = Number.NEGATIVE_INFINITY;
  // A full scan is O(n); limiting it to a few per window keeps each call O(1) amortized even
  // when the guard is full and every call would otherwise want to make room.
  const minSweepGapMs = Math.max(1, Math.floor(windowMs / 16));

  function sweep(nowMs: number): void {
    const oldestAllowedMs = nowMs - windowMs;
    for (const [id, timestampMs] of seen) {
      if (timestampMs < oldestAllowedMs) seen.delete(id);
    }
    lastSweepMs = nowMs;
  }

  return {
    checkAndRemember(messageId: string, timestampMs: number): boolean {
      const nowMs = clock.now();
      if (timestampMs < nowMs - windowMs || timestampMs <= floorMs) return false;
      if (seen.has(messageId)) return false;
      const sinceSweepMs = nowMs - lastSweepMs;
      if (sinceSweepMs >= windowMs || (seen.size >= maxEntries && sinceSweepMs >= minSweepGapMs)) {
        sweep(nowMs);
      }
      while (seen.size >= maxEntries) {
        const oldest = seen.entries().next();
        if (oldest.done === true) break;
        const [id, evictedMs] = oldest.value;
        seen.delete(id);
        floorMs = Math.max(floorMs, evictedMs);
      }
      if (timestampMs <= floorMs) return false;
      seen.set(messageId, timestampMs);
      return true;
    },
  };
}
