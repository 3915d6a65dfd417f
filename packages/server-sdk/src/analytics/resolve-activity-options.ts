import { InvalidArgumentError } from '@fieldline/core';
import { type ActivityAggregationOptions, DEFAULT_MAX_OPEN_INTERVAL_MS } from './activity-row.js';
import { createLocalCalendar, type LocalCalendar } from './local-calendar.js';

/** Options with their defaults applied and the calendar built. @internal */
export interface ResolvedActivityOptions {
  readonly calendar: LocalCalendar;
  readonly maxOpenIntervalMs: number;
}

/**
 * Applies defaults and checks the options: bad options are a programmer
 * error, so they throw rather than silently aggregating in the wrong zone.
 * @internal
 */
export function resolveActivityOptions(
  options: ActivityAggregationOptions = {},
): ResolvedActivityOptions {
  const maxOpenIntervalMs = options.maxOpenIntervalMs ?? DEFAULT_MAX_OPEN_INTERVAL_MS;
  if (!Number.isSafeInteger(maxOpenIntervalMs) || maxOpenIntervalMs <= 0) {
    throw new InvalidArgumentError(
      `maxOpenIntervalMs must be a positive integer of milliseconds, got ${String(maxOpenIntervalMs)}.`,
      { maxOpenIntervalMs },
    );
  }
  return { calendar: createLocalCalendar(options.timeZone ?? 'UTC'), maxOpenIntervalMs };
}
