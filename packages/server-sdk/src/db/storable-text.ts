// PostgreSQL's text and jsonb cannot hold U+0000, and jsonb refuses unpaired
// UTF-16 surrogates: input carrying them passes JSON and zod but would make
// the insert fail, so it is refused up front as a client error.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether a string can be stored in PostgreSQL text and jsonb.
 *
 * @param text - the string.
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/**
 * Finds the first string (value or object key) PostgreSQL cannot store.
 *
 * @param value - parsed JSON.
 * @param path - the path of `value`, for the answer.
 * @returns the dotted path of the offending string, or undefined when everything is storable.
 */
export function findUnstorableText(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path || '(root)';
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = findUnstorableText(value[index], `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, inner] of Object.entries(value)) {
    const keyPath = path === '' ? key : `${path}.${key}`;
    if (!isStorableText(key)) return keyPath;
    const found = findUnstorableText(inner, keyPath);
    if (found !== undefined) return found;
  }
  return undefined;
}
