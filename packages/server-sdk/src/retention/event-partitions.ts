// The contract between migration 0009 and the retention job: how a day's partition of `events`
// is named and which event ids it holds. An event id is a UUIDv7 whose first 48 bits are the
// Unix time in milliseconds when the agent made it, and PostgreSQL orders `uuid` values byte by
// byte, so every id made during a UTC day sorts between two ids built from the day's bounds.

/** Milliseconds in a day: each partition of `events` spans one UTC day. */
export const DAY_MS = 86_400_000;

/** The partition holding ids outside every day partition (skewed clocks, old rows). */
export const DEFAULT_EVENT_PARTITION = 'events_default';

const PREFIX = 'events_p';
// The largest 48-bit time a UUIDv7 can hold.
const MAX_TIME_MS = 2 ** 48 - 1;

/**
 * The start (00:00 UTC) of the day that holds `timeMs`.
 *
 * @param timeMs - a time, ms since the epoch.
 * @returns the day's start, ms since the epoch.
 * @example
 * ```ts
 * utcDayStart(Date.parse('2026-12-03T14:00:00Z')); // Date.parse('2026-12-03T00:00:00Z')
 * ```
 */
export function utcDayStart(timeMs: number): number {
  return Math.floor(timeMs / DAY_MS) * DAY_MS;
}

/**
 * The smallest UUID whose UUIDv7 time is `timeMs`: every event id made at or after `timeMs`
 * sorts at or above it, every id made before sorts below.
 *
 * @param timeMs - ms since the epoch, 0 to 2^48 − 1.
 * @returns a canonical UUID string such as `019ae3a8-0000-0000-0000-000000000000`.
 * @example
 * ```ts
 * eventIdLowerBound(Date.parse('2026-12-03T00:00:00Z'));
 * ```
 */
export function eventIdLowerBound(timeMs: number): string {
  const clamped = Math.min(Math.max(Math.floor(timeMs), 0), MAX_TIME_MS);
  const hex = clamped.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/**
 * The name of the partition of `events` for the UTC day starting at `dayStartMs`.
 *
 * @param dayStartMs - 00:00 UTC of the day.
 * @returns `events_pYYYYMMDD`.
 * @example
 * ```ts
 * eventPartitionName(Date.parse('2026-12-03T00:00:00Z')); // 'events_p20261203'
 * ```
 */
export function eventPartitionName(dayStartMs: number): string {
  return PREFIX + new Date(dayStartMs).toISOString().slice(0, 10).replaceAll('-', '');
}

/**
 * The UTC day a partition name stands for.
 *
 * @param name - a table name.
 * @returns 00:00 UTC of the day, or undefined when `name` is not a day partition's name.
 * @example
 * ```ts
 * eventPartitionDay('events_p20261203'); // Date.parse('2026-12-03T00:00:00Z')
 * ```
 */
export function eventPartitionDay(name: string): number | undefined {
  const match = /^events_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (match === null) return undefined;
  const dayStartMs = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return eventPartitionName(dayStartMs) === name ? dayStartMs : undefined;
}
