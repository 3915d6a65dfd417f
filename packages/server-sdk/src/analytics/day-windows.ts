import type { LocalCalendar } from './local-calendar.js';

/**
 * How far after the end of a local day the recompute of that day looks for
 * `activity.system.idle`, `activity.system.active` and `activity.network.volume`
 * events whose described span (`idleThresholdMs`, `idleForMs`, `intervalMs`) reaches
 * back into it: 7 days. A span reaching further back than this before its event is
 * counted only on the days that end within 7 days before the event (docs/analytics.md,
 * "Known limits"); the bound keeps a day's recompute an index range read.
 */
export const ACTIVITY_LOOK_AHEAD_MS = 7 * 24 * 3_600_000;

/** The event types whose span can reach back before their own time. @internal */
export const LOOK_BACK_TYPES: readonly string[] = [
  'activity.system.idle',
  'activity.system.active',
  'activity.network.volume',
];

/** Every event type the aggregation reads. @internal */
export const ACTIVITY_TYPES: readonly string[] = [
  'activity.window.focused',
  'activity.app.launched',
  'activity.app.closed',
  ...LOOK_BACK_TYPES,
];

/**
 * The events a local day's rows are recomputed from: every activity event from
 * `maxOpenIntervalMs` before the day's start to its end, and the look-back types for
 * {@link ACTIVITY_LOOK_AHEAD_MS} after its end. @internal
 */
export interface DayWindow {
  readonly day: string;
  /** First instant read (the day's start minus `maxOpenIntervalMs`). */
  readonly fromMs: number;
  /** The day's end: every activity type before it. */
  readonly endMs: number;
  /** The end of the look-ahead: look-back types before it. */
  readonly aheadMs: number;
}

/** The window of each day. @internal */
export function dayWindows(
  calendar: LocalCalendar,
  days: readonly string[],
  maxOpenIntervalMs: number,
): DayWindow[] {
  return days.map((day) => {
    const startMs = calendar.startOf(day);
    const endMs = calendar.startOf(calendar.nextDay(day));
    return {
      day,
      fromMs: startMs - maxOpenIntervalMs,
      endMs,
      aheadMs: endMs + ACTIVITY_LOOK_AHEAD_MS,
    };
  });
}

/** Whether an event of `type` at `atMs` is read for the window. @internal */
export function inWindow(window: DayWindow, type: string, atMs: number): boolean {
  if (atMs < window.fromMs) return false;
  if (atMs < window.endMs) return true;
  return atMs < window.aheadMs && LOOK_BACK_TYPES.includes(type);
}

/**
 * Merges the windows of consecutive days into ranges, so one read serves a run of days.
 * @internal
 */
export function mergeWindows(windows: readonly DayWindow[]): DayWindow[] {
  const sorted = [...windows].sort((a, b) => a.fromMs - b.fromMs);
  const merged: DayWindow[] = [];
  for (const window of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && window.fromMs <= last.endMs) {
      merged[merged.length - 1] = {
        day: last.day,
        fromMs: last.fromMs,
        endMs: Math.max(last.endMs, window.endMs),
        aheadMs: Math.max(last.aheadMs, window.aheadMs),
      };
    } else {
      merged.push(window);
    }
  }
  return merged;
}
