import { InvalidArgumentError } from '../errors.js';

/**
 * The longest delay {@link parseRetryAfter} returns by default: one day, in milliseconds. A
 * server asking for more is almost certainly misconfigured (or its clock is), and an agent that
 * obeyed a year-long `Retry-After` would silently stop reporting; after a day it asks again.
 */
export const DEFAULT_MAX_RETRY_AFTER_MS = 86_400_000;

/** Options of {@link parseRetryAfter}. */
export interface ParseRetryAfterOptions {
  /**
   * Upper bound of the returned delay, in milliseconds. Larger requests are clamped to it.
   * @default 86_400_000 (one day, {@link DEFAULT_MAX_RETRY_AFTER_MS})
   */
  readonly maxDelayMs?: number;
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

const DELAY_SECONDS = /^\d+$/;
// RFC 9110 §5.6.7: recipients must accept all three forms of HTTP-date.
const IMF_FIXDATE =
  /^(?:mon|tue|wed|thu|fri|sat|sun), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC850_DATE =
  /^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME_DATE =
  /^(?:mon|tue|wed|thu|fri|sat|sun) ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

function utcMs(
  year: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined {
  const month = MONTHS[monthName.toLowerCase()];
  if (month === undefined || hour > 23 || minute > 59 || second > 60) return undefined;
  // A leap second (":60") is folded into the last whole second of the minute.
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls "31 Feb" over into March; such a date is malformed, not "3 Mar".
  const check = new Date(ms);
  if (check.getUTCMonth() !== month || check.getUTCDate() !== day) return undefined;
  return ms;
}

function twoDigitYear(yy: number, nowMs: number): number {
  // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead means the previous century.
  const nowYear = new Date(nowMs).getUTCFullYear();
  let year = nowYear - (nowYear % 100) + yy;
  if (year > nowYear + 50) year -= 100;
  else if (year + 100 <= nowYear + 50) year += 100;
  return year;
}

function parseHttpDate(value: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) {
    const [, d, mon, y, h, mi, s] = m;
    return utcMs(Number(y), mon!, Number(d), Number(h), Number(mi), Number(s));
  }
  m = RFC850_DATE.exec(value);
  if (m !== null) {
    const [, d, mon, yy, h, mi, s] = m;
    const year = twoDigitYear(Number(yy), nowMs);
    return utcMs(year, mon!, Number(d), Number(h), Number(mi), Number(s));
  }
  m = ASCTIME_DATE.exec(value);
  if (m !== null) {
    const [, mon, d, h, mi, s, y] = m;
    return utcMs(Number(y), mon!, Number(d!.trim()), Number(h), Number(mi), Number(s));
  }
  return undefined;
}

/**
 * Reads an HTTP `Retry-After` header (RFC 9110 §10.2.3) as a delay.
 *
 * Accepts `delay-seconds` (digits only: no sign, no fraction) and an HTTP-date in any of its
 * three forms (IMF-fixdate, obsolete RFC 850, asctime). A date in the past, or now, gives 0.
 * The result is clamped to `options.maxDelayMs` (one day by default).
 *
 * @param headerValue - the raw header value, as `headers.get('retry-after')` returns it.
 * @param nowMs - the current time, in milliseconds since the epoch (from the injected `Clock`).
 * @param options - see {@link ParseRetryAfterOptions}.
 * @returns the delay in milliseconds, or `undefined` when the header is absent, negative or
 *   malformed (the caller then falls back to its own back-off).
 * @throws {@link InvalidArgumentError} when `options.maxDelayMs` is negative or `NaN`.
 * @example
 * ```ts
 * parseRetryAfter('120', clock.now()); // 120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', clock.now()); // 0 (long past)
 * parseRetryAfter('soon', clock.now()); // undefined
 * ```
 */
export function parseRetryAfter(
  headerValue: string | null | undefined,
  nowMs: number,
  options: ParseRetryAfterOptions = {},
): number | undefined {
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  if (Number.isNaN(maxDelayMs) || maxDelayMs < 0) {
    throw new InvalidArgumentError('parseRetryAfter: maxDelayMs must be ≥ 0', { maxDelayMs });
  }
  if (typeof headerValue !== 'string') return undefined;
  const value = headerValue.trim();
  if (value === '') return undefined;
  if (DELAY_SECONDS.test(value)) {
    // Very long digit strings become Infinity here and are clamped below.
    return Math.min(Number(value) * 1000, maxDelayMs);
  }
  const atMs = parseHttpDate(value, nowMs);
  if (atMs === undefined) return undefined;
  return Math.min(Math.max(0, atMs - nowMs), maxDelayMs);
}
