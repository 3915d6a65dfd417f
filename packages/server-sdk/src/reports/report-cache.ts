import { InvalidArgumentError } from '@fieldline/core';

/** A finished report body, as the cache keeps it. */
export interface CachedReport {
  /** The strong ETag the body was answered with. */
  readonly etag: string;
  /** The `content-type` header. */
  readonly contentType: string;
  /** The whole body. */
  readonly body: string;
}

/** Options of {@link createReportCache}. */
export interface ReportCacheOptions {
  /**
   * Most reports kept.
   * @default 200
   */
  readonly maxEntries?: number;
  /**
   * Most bytes kept over all reports (UTF-8 length of bodies and keys); a report larger than
   * this is never kept.
   * @default 16_777_216 (16 MiB)
   */
  readonly maxBytes?: number;
}

/** An in-process least-recently-used cache of report bodies. */
export interface ReportCache {
  /**
   * The report stored under `key`, marking it recently used.
   *
   * @param key - the cache key (tenant, normalized query and data generation).
   * @returns the report, or undefined.
   */
  get(key: string): CachedReport | undefined;
  /**
   * Stores a report, evicting the least recently used ones beyond the bounds.
   *
   * @param key - the cache key.
   * @param report - the finished report.
   */
  set(key: string, report: CachedReport): void;
  /** Reports and bytes held now. */
  stats(): { readonly entries: number; readonly bytes: number };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer.`, { [name]: value });
  }
  return value;
}

/**
 * Creates a bounded LRU cache of report bodies. Keys carry the data's generation, so a
 * change to the data makes a new key and the old entry simply ages out: nothing needs to be
 * invalidated explicitly.
 *
 * @param options - entry and byte bounds.
 * @returns the cache.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when a bound is not a
 *   positive integer.
 * @example
 * ```ts
 * const cache = createReportCache({ maxEntries: 50, maxBytes: 4 * 1024 * 1024 });
 * ```
 */
export function createReportCache(options: ReportCacheOptions = {}): ReportCache {
  const maxEntries = positiveInteger('maxEntries', options.maxEntries ?? 200);
  const maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 16 * 1024 * 1024);
  // A Map iterates in insertion order: re-inserting on use keeps the oldest use first.
  const entries = new Map<string, { report: CachedReport; bytes: number }>();
  let bytes = 0;
  const remove = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    bytes -= entry.bytes;
  };
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      entries.set(key, entry);
      return entry.report;
    },
    set(key, report) {
      const size = Buffer.byteLength(report.body) + Buffer.byteLength(key);
      remove(key);
      if (size > maxBytes) return;
      entries.set(key, { report, bytes: size });
      bytes += size;
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries && bytes <= maxBytes) break;
        remove(oldest);
      }
    },
    stats: () => ({ entries: entries.size, bytes }),
  };
}
