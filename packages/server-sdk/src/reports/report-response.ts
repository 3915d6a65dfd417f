import { createHash } from 'node:crypto';
import type { FieldlineRequest, FieldlineResponse, FieldlineStream } from '../http/types.js';
import { type CsvValue, csvLine } from './csv-line.js';
import type { ReportCache } from './report-cache.js';

/** A report ready to be written: what comes before its rows, and the rows page by page. */
export interface ReportBody<Row> {
  /** JSON fields written before the row array (e.g. `from`, `to`). */
  readonly head: Readonly<Record<string, unknown>>;
  /** The JSON key of the row array. */
  readonly rowsKey: string;
  /** CSV header names, in order. */
  readonly columns: readonly string[];
  /** A row's CSV fields, in column order. */
  toCsv(row: Row): readonly CsvValue[];
  /** A row's JSON value. */
  toJson(row: Row): unknown;
  /** The rows, a page at a time; ends after the last page. Closed early if the client leaves. */
  readonly pages: AsyncGenerator<readonly Row[], void, undefined>;
  /** Extra response headers (lowercase names). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** How {@link answerReport} writes and keeps a report. */
export interface AnswerReportOptions {
  /** `json` or `csv`. */
  readonly format: 'json' | 'csv';
  /** The report's strong ETag (from {@link reportEtag}). */
  readonly etag: string;
  /** Where a report that fits in memory is kept, under `cacheKey`. */
  readonly cache: ReportCache;
  /** The cache key the ETag was made from. */
  readonly cacheKey: string;
  /**
   * Bytes a client may leave unread before the writer waits for it.
   * @default 262_144
   */
  readonly highWaterBytes?: number;
  /**
   * How long the writer waits for a client that reads nothing before cutting the response.
   * @default 30_000
   */
  readonly stallTimeoutMs?: number;
}

/**
 * The strong ETag of a report: a hash of its cache key, which names the report kind, the
 * tenant, the normalized query and the generation of the data it reads. Equal keys mean equal
 * bodies, so the ETag is known before a single row is read.
 *
 * @param cacheKey - the cache key.
 * @returns a quoted ETag.
 * @example
 * ```ts
 * const etag = reportEtag(`activity|acme|${JSON.stringify(query)}|${generation}`);
 * ```
 */
export function reportEtag(cacheKey: string): string {
  return `"${createHash('sha256').update(cacheKey).digest('base64url').slice(0, 27)}"`;
}

/**
 * Whether the request's `If-None-Match` names the ETag (or `*`).
 *
 * @param request - the request.
 * @param etag - the current ETag.
 * @returns true when a 304 answers it.
 */
export function matchesIfNoneMatch(request: FieldlineRequest, etag: string): boolean {
  const header = request.header('if-none-match');
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}

/** The headers every report answer carries. */
export function reportHeaders(etag: string, contentType: string): Record<string, string> {
  // `no-cache`: clients may keep a copy but must revalidate; `private`: reports are per tenant.
  return { etag, 'cache-control': 'private, no-cache', 'content-type': contentType };
}

function contentTypeOf(format: 'json' | 'csv'): string {
  return format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/json';
}

function encoder<Row>(report: ReportBody<Row>, format: 'json' | 'csv') {
  if (format === 'csv') {
    return {
      opening: csvLine(report.columns),
      page: (rows: readonly Row[]) => rows.map((row) => csvLine(report.toCsv(row))).join(''),
      separator: '',
      closing: '',
    };
  }
  const head = JSON.stringify(report.head);
  return {
    opening: `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}${JSON.stringify(report.rowsKey)}:[`,
    page: (rows: readonly Row[]) => rows.map((row) => JSON.stringify(report.toJson(row))).join(','),
    separator: ',',
    closing: ']}',
  };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Answers a report: whole (and kept in the cache) when its rows fit in two pages, else
 * streamed page by page as they are read, waiting for a slow client rather than buffering
 * the whole report. Both formats stream. A failure while streaming cuts the response (the
 * status is already sent), which the client sees as an incomplete body.
 *
 * @param report - the report's head and rows.
 * @param options - format, ETag, cache and flow control.
 * @returns the response.
 * @example
 * ```ts
 * return answerReport(body, { format: 'csv', etag, cache, cacheKey });
 * ```
 */
export async function answerReport<Row>(
  report: ReportBody<Row>,
  options: AnswerReportOptions,
): Promise<FieldlineResponse> {
  const { format, etag } = options;
  const contentType = contentTypeOf(format);
  const headers = { ...report.headers, ...reportHeaders(etag, contentType) };
  const encode = encoder(report, format);
  const chunks: string[] = [];
  const append = (rows: readonly Row[]): void => {
    if (rows.length === 0) return;
    const text = encode.page(rows);
    chunks.push(chunks.length === 0 ? text : `${encode.separator}${text}`);
  };
  const first = await report.pages.next();
  if (!first.done) append(first.value);
  const second = first.done ? first : await report.pages.next();
  if (!second.done) append(second.value);
  if (second.done) {
    const body = `${encode.opening}${chunks.join('')}${encode.closing}`;
    options.cache.set(options.cacheKey, { etag, contentType, body });
    return { status: 200, headers, body };
  }
  const highWater = options.highWaterBytes ?? 256 * 1024;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  const stream: FieldlineStream = {
    kind: 'stream',
    start(sink) {
      let stopped = false;
      const drain = async (): Promise<void> => {
        // The sink has no drain event; polling the buffered byte count is the adapters' seam.
        let waitedMs = 0;
        while (!stopped && sink.bufferedBytes() > highWater) {
          if (waitedMs >= stallTimeoutMs) throw new Error('client stopped reading');
          await delay(10);
          waitedMs += 10;
        }
      };
      const run = async (): Promise<void> => {
        sink.write(`${encode.opening}${chunks.join('')}`);
        let wroteRows = chunks.length > 0;
        for await (const rows of report.pages) {
          if (stopped) return;
          if (rows.length > 0) {
            sink.write(`${wroteRows ? encode.separator : ''}${encode.page(rows)}`);
            wroteRows = true;
          }
          await drain();
        }
        sink.write(encode.closing);
        sink.end();
      };
      run().catch(() => sink.abort());
      return () => {
        stopped = true;
      };
    },
  };
  return { status: 200, headers, body: stream };
}
