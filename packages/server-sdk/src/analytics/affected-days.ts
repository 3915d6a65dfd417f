import type { ActivityAggregationOptions, DeviceActivityEvent } from './activity-row.js';
import { type ActivityFact, parseActivityEvent } from './parse-activity-event.js';
import { resolveActivityOptions } from './resolve-activity-options.js';

/**
 * The local days whose rows can change when this event is added to the set
 * of its device's events (for instance when it arrives late). Recomputing
 * those days from all the device's events so far, and replacing their rows,
 * gives the same rows as aggregating everything again; the rows of any day
 * depend only on the events whose affected days include it.
 *
 * The reach of each type is in docs/analytics.md: its own day, plus
 * `maxOpenIntervalMs` after it for focus, idle and active events, plus the
 * span the event itself describes before it (`idleThresholdMs`, `idleForMs`,
 * `intervalMs`). Invalid or non-activity events affect no day.
 *
 * @param event - the event and the device it came from.
 * @param options - the same options given to {@link aggregateActivity}.
 * @returns the local days (`YYYY-MM-DD`), sorted.
 * @throws {InvalidArgumentError} when the options are invalid.
 * @example
 * ```ts
 * for (const day of affectedDays({ deviceId, event }, { timeZone })) recompute(deviceId, day);
 * ```
 */
export function affectedDays(
  event: DeviceActivityEvent,
  options?: ActivityAggregationOptions,
): string[] {
  const { calendar, maxOpenIntervalMs } = resolveActivityOptions(options);
  const fact = parseActivityEvent(event);
  if (fact === undefined) return [];
  const { fromMs, toMs } = affectedSpan(fact, maxOpenIntervalMs);
  const days: string[] = [];
  const lastDay = calendar.dayOf(toMs);
  for (let day = calendar.dayOf(fromMs); day <= lastDay; day = calendar.nextDay(day)) {
    days.push(day);
  }
  return days;
}

/**
 * The instants `[fromMs, toMs]` (both included) where adding this fact to its device's facts
 * can change the aggregation: outside it, every row figure and every span stays as it was.
 * {@link affectedDays} is the local days of this span; the incremental consumer aggregates
 * only this span, with and without a batch's facts.
 * @internal
 */
export function affectedSpan(
  fact: ActivityFact,
  maxOpenIntervalMs: number,
): { readonly fromMs: number; readonly toMs: number } {
  const at = fact.atMs;
  switch (fact.kind) {
    case 'focused':
      // Its own span, and the end of the span before it: both within the cap.
      return { fromMs: at, toMs: at + maxOpenIntervalMs };
    case 'idle':
      return { fromMs: at - fact.idleThresholdMs, toMs: at + maxOpenIntervalMs };
    case 'active':
      // Its idle period, and the cut of an assumed idle period started before it.
      return { fromMs: at - fact.idleForMs, toMs: at + maxOpenIntervalMs };
    case 'network':
      return { fromMs: at - fact.intervalMs, toMs: at };
    case 'launched':
    case 'closed':
      return { fromMs: at, toMs: at };
  }
}
