import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { DEFAULT_MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/retry/retry-after.js';

// Wed, 15 Jan 2025 12:00:00 GMT
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

describe('parseRetryAfter: delay-seconds', () => {
  it.each([
    ['0', 0],
    ['1', 1000],
    ['120', 120_000],
    ['  30 ', 30_000],
    ['007', 7000],
  ])('%j → %d ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it.each(['-1', '+5', '1.5', '1e3', '0x10', '10 s', 'soon', '', '   ', 'NaN', 'Infinity'])(
    'rejects %j',
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );

  it('treats an absent header as no hint', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('clamps absurd values to one day by default, or to the given cap', () => {
    expect(parseRetryAfter('31536000', NOW)).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('600', NOW, { maxDelayMs: 60_000 })).toBe(60_000);
    expect(parseRetryAfter('30', NOW, { maxDelayMs: 60_000 })).toBe(30_000);
  });

  it('rejects a nonsensical cap', () => {
    expect(() => parseRetryAfter('1', NOW, { maxDelayMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => parseRetryAfter('1', NOW, { maxDelayMs: Number.NaN })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('parseRetryAfter: HTTP-date', () => {
  it('reads an IMF-fixdate in the future', () => {
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:01:30 GMT', NOW)).toBe(90_000);
  });

  it('reads the obsolete RFC 850 form', () => {
    expect(parseRetryAfter('Wednesday, 15-Jan-25 12:00:10 GMT', NOW)).toBe(10_000);
  });

  it('reads the asctime form, with a space-padded day', () => {
    expect(parseRetryAfter('Wed Jan 15 12:00:05 2025', NOW)).toBe(5000);
    const early = Date.UTC(2025, 0, 5, 12, 0, 0);
    expect(parseRetryAfter('Sun Jan  5 12:00:02 2025', early)).toBe(2000);
  });

  it('gives 0 for a date in the past or now', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(0);
  });

  it('reads a two-digit year more than 50 years ahead as the previous century', () => {
    // "75" would be 2075, 50 years ahead of 2025: not more than 50, so it stays 2075.
    expect(parseRetryAfter('Tuesday, 15-Jan-75 12:00:00 GMT', NOW, { maxDelayMs: 1e15 })).toBe(
      Date.UTC(2075, 0, 15, 12) - NOW,
    );
    // "76" would be 2076, more than 50 years ahead: it means 1976, long past.
    expect(parseRetryAfter('Thursday, 15-Jan-76 12:00:00 GMT', NOW)).toBe(0);
  });

  it('clamps a far-future date to the cap', () => {
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW)).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
  });

  it.each([
    'Wed, 30 Feb 2025 12:00:00 GMT',
    'Wed, 15 Foo 2025 12:00:00 GMT',
    'Wed, 15 Jan 2025 25:00:00 GMT',
    'Wed, 15 Jan 2025 12:61:00 GMT',
    'Wed, 15 Jan 2025 12:00:00 PST',
    'Wed, 15 Jan 2025 12:00:00',
    '2025-01-15T12:01:00Z',
    'Wed, 15 Jan 2025',
    'Xyz, 15 Jan 2025 12:00:00 GMT',
  ])('rejects malformed date %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});
