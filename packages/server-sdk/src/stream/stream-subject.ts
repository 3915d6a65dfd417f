// NATS subjects are dot-separated tokens; `*`, `>`, whitespace and the separator itself cannot
// appear inside a token. Tenant ids and topic words are escaped so any value maps to a valid,
// distinct token and outside subscribers can still filter by tenant (`fieldline.*.*.acme`).
const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Escapes one subject token: characters other than letters, digits, `_` and `-` become `%XX`
 * (UTF-8 bytes, upper-case hex), and an empty token becomes `%`.
 *
 * @param value - the raw token.
 * @returns a token NATS accepts, distinct for distinct values.
 * @example
 * ```ts
 * escapeSubjectToken('acme.eu'); // 'acme%2Eeu'
 * ```
 */
export function escapeSubjectToken(value: string): string {
  if (value.length === 0) return '%';
  if (SAFE_TOKEN.test(value)) return value;
  let escaped = '';
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    escaped +=
      byte < 0x80 && SAFE_TOKEN.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return escaped;
}

/**
 * The subject a stream record is published on: `<prefix>.<topic words>.<tenant>`, each topic
 * word (split on `.`) and the tenant escaped with {@link escapeSubjectToken}.
 *
 * @param prefix - the subject prefix (already valid tokens, e.g. `fieldline`).
 * @param topic - the record's topic, e.g. `events.ingested`.
 * @param tenantId - the record's tenant.
 * @returns the subject.
 * @example
 * ```ts
 * recordSubject('fieldline', 'events.ingested', 'acme'); // 'fieldline.events.ingested.acme'
 * ```
 */
export function recordSubject(prefix: string, topic: string, tenantId: string): string {
  const words = topic.split('.').map(escapeSubjectToken);
  return [prefix, ...words, escapeSubjectToken(tenantId)].join('.');
}
