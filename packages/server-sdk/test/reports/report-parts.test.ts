// The pure parts of the reports API: CSV records and the bounded LRU cache.
import { isInvalidArgumentError } from '@fieldline/core';
import { describe, expect, it } from 'vitest';
import { csvLine } from '../../src/reports/csv-line.js';
import { createReportCache } from '../../src/reports/report-cache.js';
import { parseCsv } from '../support/report-fixtures.js';

describe('csvLine', () => {
  it('quotes commas, quotes and line breaks (RFC 4180) and ends with CRLF', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'two\nlines', null, 3, true])).toBe(
      'a,"b,c","say ""hi""","two\nlines",,3,true\r\n',
    );
  });

  it('neutralizes text a spreadsheet would run as a formula, and leaves numbers alone', () => {
    for (const text of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) {
      const [[cell]] = parseCsv(csvLine([text])) as [[string]];
      expect(cell).toBe(`'${text}`);
    }
    expect(csvLine([-5])).toBe('-5\r\n');
    expect(csvLine(['a=b'])).toBe('a=b\r\n');
  });

  it('round-trips through an RFC 4180 reader', () => {
    const values = ['x', 'y,"z"', '', 'multi\r\nline'];
    expect(parseCsv(csvLine(values))).toEqual([values]);
  });
});

describe('createReportCache', () => {
  const report = (body: string) => ({ etag: `"${body}"`, contentType: 'application/json', body });

  it('evicts the least recently used report beyond maxEntries', () => {
    const cache = createReportCache({ maxEntries: 2 });
    cache.set('a', report('1'));
    cache.set('b', report('2'));
    expect(cache.get('a')?.body).toBe('1');
    cache.set('c', report('3'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.body).toBe('1');
    expect(cache.get('c')?.body).toBe('3');
    expect(cache.stats().entries).toBe(2);
  });

  it('keeps the bytes under maxBytes and never keeps a report larger than it', () => {
    const cache = createReportCache({ maxBytes: 100 });
    cache.set('a', report('x'.repeat(40)));
    cache.set('b', report('y'.repeat(40)));
    cache.set('c', report('z'.repeat(40)));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats().bytes).toBeLessThanOrEqual(100);
    cache.set('huge', report('h'.repeat(200)));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('c')?.body).toHaveLength(40);
  });

  it('replaces a key in place and counts its bytes once', () => {
    const cache = createReportCache();
    cache.set('a', report('1234'));
    cache.set('a', report('12'));
    expect(cache.stats()).toEqual({ entries: 1, bytes: 3 });
  });

  it('refuses bounds that are not positive integers', () => {
    expect(() => createReportCache({ maxEntries: 0 })).toThrow();
    try {
      createReportCache({ maxBytes: 1.5 });
    } catch (error) {
      expect(isInvalidArgumentError(error)).toBe(true);
    }
    expect.assertions(2);
  });
});
