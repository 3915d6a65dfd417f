import { createHash } from 'node:crypto';

/** Longest prefix that keeps every bus channel name within PostgreSQL's 63 bytes. */
const MAX_PREFIX_LENGTH = 40;

/**
 * Derives the bus channel prefix from a PostgreSQL URL whose `options` set a
 * `search_path` (e.g. `?options=-c search_path=tenant_a`), so that servers
 * sharing a database but not a schema do not hear each other's messages.
 *
 * @param databaseUrl - the connection string.
 * @returns `<schema>_` (made safe and short enough for a channel name), or `''` when the URL
 *   names no schema.
 * @example
 * ```ts
 * busPrefixFromDatabaseUrl('postgres://db/app?options=-c%20search_path%3Dfl_a'); // 'fl_a_'
 * ```
 */
export function busPrefixFromDatabaseUrl(databaseUrl: string): string {
  let options: string | null;
  try {
    options = new URL(databaseUrl).searchParams.get('options');
  } catch {
    return '';
  }
  const schema = /(?:^|\s)(?:-c\s*|--)search_path\s*=\s*([^\s,]+)/.exec(options ?? '')?.[1];
  if (schema === undefined) return '';
  const safe = `${schema.replace(/^"|"$/g, '').replace(/[^A-Za-z0-9_]/g, '_')}_`;
  if (safe.length <= MAX_PREFIX_LENGTH) return safe;
  // Too long to keep whole: a hash of the full name keeps distinct schemas apart.
  const hash = createHash('sha256').update(schema).digest('hex').slice(0, 8);
  return `${safe.slice(0, MAX_PREFIX_LENGTH - 10)}_${hash}_`;
}
