/**
 * One row of the activity aggregate: what one device did in one app on one
 * local day of its tenant. Device-level figures (idle time, network volume)
 * are on the row whose `app` is `''`. See docs/analytics.md for the exact
 * definitions.
 */
export interface ActivityRow {
  /** The local date in the tenant's time zone, `YYYY-MM-DD`. */
  readonly day: string;
  /** The device the events came from. */
  readonly deviceId: string;
  /** The application, or `''` for device-level figures (idle time, network bytes). */
  readonly app: string;
  /** Milliseconds the app was in the foreground while the user was not idle. */
  readonly activeMs: number;
  /** Milliseconds the user was idle (only on the `''` row). */
  readonly idleMs: number;
  /** Number of `activity.app.launched` events for the app on that day. */
  readonly launches: number;
  /** Bytes received (only on the `''` row), split across days in proportion to the interval. */
  readonly bytesIn: number;
  /** Bytes sent (only on the `''` row), split across days in proportion to the interval. */
  readonly bytesOut: number;
}

/** An event as the analytics functions take it: the stored envelope and the device it came from. */
export interface DeviceActivityEvent {
  /** The device that sent the event. */
  readonly deviceId: string;
  /**
   * The event envelope (`id`, `type`, `occurredAt`, `seq`, `data`; other keys
   * such as `scope` are ignored). Validated here: an envelope that is invalid,
   * or whose type is not one of the built-in `activity.*` types, is ignored.
   */
  readonly event: unknown;
}

/** Options of {@link aggregateActivity} and {@link affectedDays}. */
export interface ActivityAggregationOptions {
  /**
   * The tenant's IANA time zone; days are local dates in it and intervals are
   * split at its midnights (23- and 25-hour days included).
   * @default 'UTC'
   */
  readonly timeZone?: string;
  /**
   * The longest a foreground interval, or an idle period announced by
   * `activity.system.idle`, is assumed to last when no later event ends it.
   * @default 900000 (15 minutes)
   */
  readonly maxOpenIntervalMs?: number;
}

/** The default of {@link ActivityAggregationOptions.maxOpenIntervalMs}: 15 minutes. */
export const DEFAULT_MAX_OPEN_INTERVAL_MS = 15 * 60 * 1000;
