import { focusSpans, idleSpans, subtractSpans } from './activity-intervals.js';
import type {
  ActivityAggregationOptions,
  ActivityRow,
  DeviceActivityEvent,
} from './activity-row.js';
import type { LocalCalendar } from './local-calendar.js';
import { factsByDevice } from './parse-activity-event.js';
import { resolveActivityOptions } from './resolve-activity-options.js';

type Totals = { -readonly [K in keyof ActivityRow]: ActivityRow[K] };

/**
 * Aggregates raw activity events into per device, app and local day rows,
 * following the definitions in docs/analytics.md. Pure: the result depends
 * only on the set of events (arrival order and duplicate deliveries of an
 * event id change nothing), so a late event is handled by recomputing the
 * days {@link affectedDays} names.
 *
 * Invalid events and types other than the built-in `activity.*` ones are
 * ignored. Rows whose figures are all zero are left out. Rows are sorted by
 * device, day, then app.
 *
 * @param events - events of one or several devices, in any order.
 * @param options - the tenant's time zone and the open-interval cap.
 * @returns one row per device, local day and app (`''` for idle time and network bytes).
 * @throws {InvalidArgumentError} when `timeZone` is unknown or `maxOpenIntervalMs` is not a positive integer.
 * @example
 * ```ts
 * const rows = aggregateActivity(stored.map((e) => ({ deviceId: e.deviceId, event: e })), {
 *   timeZone: 'Europe/Paris',
 * });
 * ```
 */
export function aggregateActivity(
  events: Iterable<DeviceActivityEvent>,
  options?: ActivityAggregationOptions,
): ActivityRow[] {
  const { calendar, maxOpenIntervalMs } = resolveActivityOptions(options);
  const totals = new Map<string, Totals>();
  const row = (deviceId: string, day: string, app: string): Totals => {
    const key = `${deviceId}\u0000${day}\u0000${app}`;
    let found = totals.get(key);
    if (found === undefined) {
      found = { day, deviceId, app, activeMs: 0, idleMs: 0, launches: 0, bytesIn: 0, bytesOut: 0 };
      totals.set(key, found);
    }
    return found;
  };

  for (const [deviceId, facts] of factsByDevice(events)) {
    const idle = idleSpans(facts, maxOpenIntervalMs);
    for (const span of idle) {
      for (const piece of calendar.split(span.startMs, span.endMs)) {
        row(deviceId, piece.day, '').idleMs += piece.endMs - piece.startMs;
      }
    }
    for (const focus of focusSpans(facts, maxOpenIntervalMs)) {
      for (const active of subtractSpans(focus, idle)) {
        for (const piece of calendar.split(active.startMs, active.endMs)) {
          row(deviceId, piece.day, focus.app).activeMs += piece.endMs - piece.startMs;
        }
      }
    }
    for (const fact of facts) {
      if (fact.kind === 'launched') {
        row(deviceId, calendar.dayOf(fact.atMs), fact.app).launches += 1;
      } else if (fact.kind === 'network') {
        for (const share of splitVolume(calendar, fact.atMs, fact.intervalMs, fact)) {
          const target = row(deviceId, share.day, '');
          target.bytesIn += share.bytesIn;
          target.bytesOut += share.bytesOut;
        }
      }
    }
  }

  return [...totals.values()]
    .filter(
      (r) => r.activeMs > 0 || r.idleMs > 0 || r.launches > 0 || r.bytesIn > 0 || r.bytesOut > 0,
    )
    .sort(compareRows);
}

/**
 * Splits a volume sample over `[atMs - intervalMs, atMs)` across local days in
 * proportion to the time in each, rounding down cumulatively so the shares
 * always add up to the sample exactly. BigInt because bytes × milliseconds
 * overflows 2^53.
 * @internal
 */
export function splitVolume(
  calendar: LocalCalendar,
  atMs: number,
  intervalMs: number,
  volume: { readonly bytesIn: number; readonly bytesOut: number },
): Array<{ day: string; bytesIn: number; bytesOut: number }> {
  const shares: Array<{ day: string; bytesIn: number; bytesOut: number }> = [];
  const total = BigInt(intervalMs);
  const bytesIn = BigInt(volume.bytesIn);
  const bytesOut = BigInt(volume.bytesOut);
  let elapsed = 0n;
  let givenIn = 0n;
  let givenOut = 0n;
  for (const piece of calendar.split(atMs - intervalMs, atMs)) {
    elapsed += BigInt(piece.endMs - piece.startMs);
    const upToIn = (bytesIn * elapsed) / total;
    const upToOut = (bytesOut * elapsed) / total;
    shares.push({
      day: piece.day,
      bytesIn: Number(upToIn - givenIn),
      bytesOut: Number(upToOut - givenOut),
    });
    givenIn = upToIn;
    givenOut = upToOut;
  }
  return shares;
}

function compareRows(a: ActivityRow, b: ActivityRow): number {
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  if (a.day !== b.day) return a.day < b.day ? -1 : 1;
  if (a.app !== b.app) return a.app < b.app ? -1 : 1;
  return 0;
}
