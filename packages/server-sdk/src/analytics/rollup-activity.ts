import type { ActivityRow } from './activity-row.js';

/** The period of a rollup: a local day, month (`YYYY-MM`) or year (`YYYY`). */
export type ActivityPeriod = 'day' | 'month' | 'year';

/** Options of {@link rollupActivity}. */
export interface ActivityRollupOptions {
  /** The period rows are summed over. */
  readonly period: ActivityPeriod;
  /**
   * Keep one row per device (`true`), or sum the devices into tenant rows
   * whose `deviceId` is `null` (`false`).
   * @default true
   */
  readonly perDevice?: boolean;
}

/** A row of {@link rollupActivity}: daily rows summed over a period. */
export interface ActivityRollupRow {
  /** `YYYY-MM-DD`, `YYYY-MM` or `YYYY`, by the period asked for. */
  readonly period: string;
  /** The device, or `null` in tenant rollups. */
  readonly deviceId: string | null;
  /** The application, `''` for device-level figures. */
  readonly app: string;
  /** Sum of {@link ActivityRow.activeMs}. */
  readonly activeMs: number;
  /** Sum of {@link ActivityRow.idleMs}. */
  readonly idleMs: number;
  /** Sum of {@link ActivityRow.launches}. */
  readonly launches: number;
  /** Sum of {@link ActivityRow.bytesIn}. */
  readonly bytesIn: number;
  /** Sum of {@link ActivityRow.bytesOut}. */
  readonly bytesOut: number;
}

const PERIOD_LENGTH: Record<ActivityPeriod, number> = { day: 10, month: 7, year: 4 };

/**
 * Sums daily rows (of one tenant, so one time zone) into monthly or yearly
 * rows, per device or for the whole tenant. A month or year is that of the
 * local day, so no interval is split twice. Pure.
 *
 * @param rows - daily rows from {@link aggregateActivity} or the store.
 * @param options - the period and whether to keep devices apart.
 * @returns rows sorted by period, device, then app.
 * @example
 * ```ts
 * const months = rollupActivity(dailyRows, { period: 'month', perDevice: false });
 * ```
 */
export function rollupActivity(
  rows: Iterable<ActivityRow>,
  options: ActivityRollupOptions,
): ActivityRollupRow[] {
  const length = PERIOD_LENGTH[options.period];
  const perDevice = options.perDevice ?? true;
  const sums = new Map<
    string,
    { -readonly [K in keyof ActivityRollupRow]: ActivityRollupRow[K] }
  >();
  for (const row of rows) {
    const period = row.day.slice(0, length);
    const deviceId = perDevice ? row.deviceId : null;
    const key = `${period}\u0000${deviceId ?? ''}\u0000${row.app}`;
    let sum = sums.get(key);
    if (sum === undefined) {
      sum = {
        period,
        deviceId,
        app: row.app,
        activeMs: 0,
        idleMs: 0,
        launches: 0,
        bytesIn: 0,
        bytesOut: 0,
      };
      sums.set(key, sum);
    }
    sum.activeMs += row.activeMs;
    sum.idleMs += row.idleMs;
    sum.launches += row.launches;
    sum.bytesIn += row.bytesIn;
    sum.bytesOut += row.bytesOut;
  }
  return [...sums.values()].sort(
    (a, b) =>
      cmp(a.period, b.period) || cmp(a.deviceId ?? '', b.deviceId ?? '') || cmp(a.app, b.app),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
