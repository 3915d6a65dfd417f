import { InvalidArgumentError } from '@fieldline/core';

/**
 * Local dates of one IANA time zone, computed with `Intl` only. Results are
 * cached because the aggregation asks for the same days again and again.
 * @internal
 */
export interface LocalCalendar {
  readonly timeZone: string;
  /** The local date (`YYYY-MM-DD`) of an instant. */
  dayOf(ms: number): string;
  /** The first instant whose local date is `day` or later (local midnight, or the first instant after a skipped one). */
  startOf(day: string): number;
  /** The local date after `day`. */
  nextDay(day: string): string;
  /** Cuts `[startMs, endMs)` at local midnights: one piece per local day it touches. */
  split(startMs: number, endMs: number): Array<{ day: string; startMs: number; endMs: number }>;
}

const HOUR_MS = 3_600_000;

// Calendars are kept per zone, with their caches: the analytics consumer aggregates the same
// tenant's days batch after batch, and building the caches again each time cost more than the
// aggregation itself. Zones are few; the bound only guards against a caller cycling through
// many.
const calendars = new Map<string, LocalCalendar>();

/** @internal */
export function createLocalCalendar(timeZone: string): LocalCalendar {
  const known = calendars.get(timeZone);
  if (known !== undefined) return known;
  const calendar = buildLocalCalendar(timeZone);
  if (calendars.size >= 64) calendars.clear();
  calendars.set(timeZone, calendar);
  return calendar;
}

function buildLocalCalendar(timeZone: string): LocalCalendar {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
  } catch {
    throw new InvalidArgumentError(
      `timeZone ${JSON.stringify(timeZone)} is not an IANA time zone this runtime knows (e.g. "UTC", "Europe/Paris").`,
      { timeZone },
    );
  }
  const dayCache = new Map<number, string>();
  const startCache = new Map<string, number>();

  // The local day last answered and its bounds: events come sorted, so most lookups fall in it.
  let current: { day: string; fromMs: number; toMs: number } | undefined;

  function dayOf(ms: number): string {
    if (current !== undefined && ms >= current.fromMs && ms < current.toMs) return current.day;
    const day = minuteDay(ms);
    current = { day, fromMs: startOf(day), toMs: startOf(nextDay(day)) };
    return day;
  }

  function minuteDay(ms: number): string {
    // Every zone's offset is a whole number of minutes, so a local date is
    // constant within a UTC minute: cache per minute.
    const minute = Math.floor(ms / 60_000);
    const cached = dayCache.get(minute);
    if (cached !== undefined) return cached;
    let year = '';
    let month = '';
    let day = '';
    for (const part of format.formatToParts(minute * 60_000)) {
      if (part.type === 'year') year = part.value;
      else if (part.type === 'month') month = part.value;
      else if (part.type === 'day') day = part.value;
    }
    const value = `${year.padStart(4, '0')}-${month}-${day}`;
    if (dayCache.size > 100_000) dayCache.clear();
    dayCache.set(minute, value);
    return value;
  }

  function startOf(day: string): number {
    const cached = startCache.get(day);
    if (cached !== undefined) return cached;
    // Local midnight is within ±36 h of UTC midnight of the same date for any
    // zone; a binary search over that window finds the first instant of the
    // day without assuming midnight exists (some DST changes skip it).
    const utcMidnight = Date.parse(`${day}T00:00:00Z`);
    let lo = Math.floor((utcMidnight - 36 * HOUR_MS) / 60_000);
    let hi = Math.floor((utcMidnight + 36 * HOUR_MS) / 60_000);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (minuteDay(mid * 60_000) >= day) hi = mid;
      else lo = mid + 1;
    }
    const start = lo * 60_000;
    startCache.set(day, start);
    return start;
  }

  function nextDay(day: string): string {
    return new Date(Date.parse(`${day}T00:00:00Z`) + 24 * HOUR_MS).toISOString().slice(0, 10);
  }

  function split(startMs: number, endMs: number) {
    const pieces: Array<{ day: string; startMs: number; endMs: number }> = [];
    let at = startMs;
    while (at < endMs) {
      const day = dayOf(at);
      const end = Math.min(endMs, startOf(nextDay(day)));
      pieces.push({ day, startMs: at, endMs: end });
      at = end;
    }
    return pieces;
  }

  return { timeZone, dayOf, startOf, nextDay, split };
}
