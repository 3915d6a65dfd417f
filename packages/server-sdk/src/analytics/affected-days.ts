import type { ActivityAggregationOptions, DeviceActivityEvent } from './activity-row.js';
import { parseActivityEvent } from './parse-activity-event.js';
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
  const at = fact.atMs;
  let fromMs = at;
  let toMs = at;
  switch (fact.kind) {
    case 'focused':
      // Its own span, and the end of the span before it: both within the cap.
      toMs = at + maxOpenIntervalMs;
      break;
    case 'idle':
      fromMs = at - fact.idleThresholdMs;
      toMs = at + maxOpenIntervalMs;
      break;
    case 'active':
      // Its idle period, and the cut of an assumed idle period started before it.
      fromMs = at - fact.idleForMs;
      toMs = at + maxOpenIntervalMs;
      break;
    case 'network':
      fromMs = at - fact.intervalMs;
      break;
    case 'launched':
    case 'closed':
      break;
  }
  const days: string[] = [];
  const lastDay = calendar.dayOf(toMs);
  for (let day = calendar.dayOf(fromMs); day <= lastDay; day = calendar.nextDay(day)) {
    days.push(day);
  }
  return days;
}
