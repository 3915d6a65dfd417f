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

// One value still to look at, with how it was reached; the path is only spelled out for the
// offending string, so a wide or deep value costs no path strings.
interface Pending {
  readonly value: unknown;
  readonly parent: Pending | undefined;
  readonly segment: string | number;
}

function pathOf(node: Pending, base: string): string {
  const segments: (string | number)[] = [];
  for (let at = node; at?.parent !== undefined; at = at.parent) segments.push(at.segment);
  let path = base;
  for (const segment of segments.reverse()) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path = path === '' ? segment : `${path}.${segment}`;
  }
  return path || '(root)';
}

/**
 * Finds the first string (value or object key) PostgreSQL cannot store, in
 * document order. The walk keeps its own stack, so no nesting depth can
 * overflow the call stack.
 *
 * @param value - parsed JSON.
 * @param path - the path of `value`, for the answer.
 * @returns the dotted path of the offending string, or undefined when everything is storable.
 */
export function findUnstorableText(value: unknown, path = ''): string | undefined {
  const stack: Pending[] = [{ value, parent: undefined, segment: '' }];
  // Parsed JSON shares no objects; the set only keeps a cyclic value from looping for ever.
  const seen = new Set<object>();
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const current = node.value;
    if (typeof current === 'string') {
      if (!isStorableText(current)) return pathOf(node, path);
      continue;
    }
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    // Children are pushed last-first so they are popped in document order.
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        stack.push({ value: current[index], parent: node, segment: index });
      }
      continue;
    }
    for (const [key, inner] of Object.entries(current).reverse()) {
      stack.push({ value: inner, parent: node, segment: key });
      // The key is checked as a string of the same path, just before its value.
      stack.push({ value: key, parent: node, segment: key });
    }
  }
  return undefined;
}
