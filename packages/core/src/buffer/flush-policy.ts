import { InvalidArgumentError } from '../errors.js';

/** When a buffer should be flushed. Every field is optional; see {@link resolveFlushPolicy}. */
export interface FlushPolicyOptions {
  /**
   * Flush as soon as this many events are queued; also the most events per batch.
   * @default 500
   */
  readonly maxBatchEvents?: number;
  /**
   * Flush as soon as this many bytes are queued; also the most bytes per batch (512 KiB).
   * @default 524_288
   */
  readonly maxBatchBytes?: number;
  /**
   * Flush queued events at least this often, in milliseconds. `Infinity` turns the timer off.
   * @default 5_000
   */
  readonly flushIntervalMs?: number;
  /**
   * Flush whatever is queued when the host shuts down.
   * @default true
   */
  readonly flushOnShutdown?: boolean;
}

/** A validated {@link FlushPolicyOptions} with every default filled in. */
export type FlushPolicy = Readonly<Required<FlushPolicyOptions>>;

/** The flush policy used when none is given. */
export const DEFAULT_FLUSH_POLICY: FlushPolicy = Object.freeze({
  maxBatchEvents: 500,
  maxBatchBytes: 524_288,
  flushIntervalMs: 5_000,
  flushOnShutdown: true,
});

/** Why {@link shouldFlush} says to flush. */
export type FlushTrigger = 'count' | 'bytes' | 'interval' | 'shutdown';

/** What {@link shouldFlush} and {@link nextFlushDueAtMs} look at. */
export interface FlushState {
  /** Events waiting in the buffer. */
  readonly queuedEvents: number;
  /** Their summed size, in bytes. */
  readonly queuedBytes: number;
  /** When the last flush started (or the buffer was created), in ms since the epoch. */
  readonly lastFlushAtMs: number;
  /** The current time, in ms since the epoch (from the injected `Clock`). */
  readonly nowMs: number;
  /** Whether the host is shutting down. */
  readonly shuttingDown?: boolean;
}

/**
 * Fills in defaults and validates a flush policy.
 *
 * @param options - the fields to override.
 * @returns a frozen, complete policy.
 * @throws {@link InvalidArgumentError} when `maxBatchEvents` is not a positive integer,
 *   `maxBatchBytes` or `flushIntervalMs` is not positive, or `flushOnShutdown` is not a boolean.
 * @example
 * ```ts
 * const policy = resolveFlushPolicy({ flushIntervalMs: 1_000 });
 * ```
 */
export function resolveFlushPolicy(options: FlushPolicyOptions = {}): FlushPolicy {
  const policy = {
    maxBatchEvents: options.maxBatchEvents ?? DEFAULT_FLUSH_POLICY.maxBatchEvents,
    maxBatchBytes: options.maxBatchBytes ?? DEFAULT_FLUSH_POLICY.maxBatchBytes,
    flushIntervalMs: options.flushIntervalMs ?? DEFAULT_FLUSH_POLICY.flushIntervalMs,
    flushOnShutdown: options.flushOnShutdown ?? DEFAULT_FLUSH_POLICY.flushOnShutdown,
  };
  if (!Number.isSafeInteger(policy.maxBatchEvents) || policy.maxBatchEvents < 1) {
    throw new InvalidArgumentError('flush policy: maxBatchEvents must be a positive integer', {
      maxBatchEvents: policy.maxBatchEvents,
    });
  }
  if (!Number.isFinite(policy.maxBatchBytes) || policy.maxBatchBytes <= 0) {
    throw new InvalidArgumentError('flush policy: maxBatchBytes must be a finite number > 0', {
      maxBatchBytes: policy.maxBatchBytes,
    });
  }
  if (typeof policy.flushIntervalMs !== 'number' || !(policy.flushIntervalMs > 0)) {
    throw new InvalidArgumentError('flush policy: flushIntervalMs must be > 0 or Infinity', {
      flushIntervalMs: policy.flushIntervalMs,
    });
  }
  if (typeof policy.flushOnShutdown !== 'boolean') {
    throw new InvalidArgumentError('flush policy: flushOnShutdown must be a boolean', {
      flushOnShutdown: policy.flushOnShutdown,
    });
  }
  return Object.freeze(policy);
}

/**
 * Decides whether to flush now. An empty buffer never needs a flush. Triggers are checked in
 * the order shutdown, count, bytes, interval, and the first that holds is returned.
 *
 * @param state - the buffer and the time; see {@link FlushState}.
 * @param policy - a resolved policy (see {@link resolveFlushPolicy}).
 * @returns the trigger, or `false` to keep buffering.
 * @example
 * ```ts
 * const trigger = shouldFlush({ queuedEvents: queue.size, queuedBytes: queue.bytes,
 *   lastFlushAtMs, nowMs: clock.now() }, policy);
 * if (trigger !== false) void flush(trigger);
 * ```
 */
export function shouldFlush(state: FlushState, policy: FlushPolicy): FlushTrigger | false {
  if (state.queuedEvents <= 0) return false;
  if (state.shuttingDown === true && policy.flushOnShutdown) return 'shutdown';
  if (state.queuedEvents >= policy.maxBatchEvents) return 'count';
  if (state.queuedBytes >= policy.maxBatchBytes) return 'bytes';
  if (state.nowMs - state.lastFlushAtMs >= policy.flushIntervalMs) return 'interval';
  return false;
}

/**
 * When the next flush is due, so an SDK can arm exactly one timer of its own (core arms none).
 *
 * @param state - the buffer and the time; see {@link FlushState}.
 * @param policy - a resolved policy (see {@link resolveFlushPolicy}).
 * @returns the time in ms since the epoch; `state.nowMs` when a flush is due now (never
 *   earlier), or `undefined` when nothing is queued or the interval is `Infinity` (no timer
 *   needed: the next `offer` re-evaluates).
 * @example
 * ```ts
 * const dueAtMs = nextFlushDueAtMs(state, policy);
 * if (dueAtMs !== undefined) timer = setTimeout(tick, dueAtMs - clock.now());
 * ```
 */
export function nextFlushDueAtMs(state: FlushState, policy: FlushPolicy): number | undefined {
  if (shouldFlush(state, policy) !== false) return state.nowMs;
  if (state.queuedEvents <= 0 || policy.flushIntervalMs === Number.POSITIVE_INFINITY) {
    return undefined;
  }
  return state.lastFlushAtMs + policy.flushIntervalMs;
}
