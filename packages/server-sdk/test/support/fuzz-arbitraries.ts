// fast-check arbitraries shared by the property-based suites: the in-process ones here and
// the reference server's out-of-process suite (packages/reference-server/test/fuzz/).
import fc from 'fast-check';

/** JSON values of the wrong type for almost any field: null, booleans, numbers, arrays, objects. */
export const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.object({ maxDepth: 1, maxKeys: 2 }),
);

/** Random text PostgreSQL can store (no U+0000). */
export const storableText = (options: { minLength?: number; maxLength?: number } = {}) =>
  fc.string({ unit: 'grapheme', ...options }).filter((text) => !text.includes('\u0000'));

/**
 * Random text as one percent-encoded path segment. `.` and `..` are left out: `encodeURIComponent`
 * keeps dots as they are, and URL parsers resolve such a segment as navigation (dropping it or
 * the segment before it) instead of sending it as an id, so the request would reach another route.
 */
export const randomPathSegment = (maxLength: number) =>
  storableText({ minLength: 1, maxLength })
    .map(encodeURIComponent)
    .filter((segment) => segment !== '.' && segment !== '..');
