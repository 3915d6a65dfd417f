import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';

const utf8 = new TextEncoder();

// The nesting depth of a parsed value, the reference the scanner is checked against.
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, depthOf(child)), 0);
}

const nested = (depth: number, open = '[', close = ']') =>
  `${open.repeat(depth)}${close.repeat(depth)}`;

describe('exceedsJsonDepth', () => {
  it('allows exactly the maximum and refuses one level more, on bytes and on strings', () => {
    for (const text of [
      nested(MAX_JSON_DEPTH),
      `${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}`,
    ]) {
      expect(exceedsJsonDepth(text)).toBe(false);
      expect(exceedsJsonDepth(utf8.encode(text))).toBe(false);
    }
    const deeper = nested(MAX_JSON_DEPTH + 1);
    expect(exceedsJsonDepth(deeper)).toBe(true);
    expect(exceedsJsonDepth(utf8.encode(deeper))).toBe(true);
    expect(exceedsJsonDepth(nested(3), 2)).toBe(true);
    expect(exceedsJsonDepth(nested(2), 2)).toBe(false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ text: `${'['.repeat(500)}"\\${'{'.repeat(500)}` });
    expect(exceedsJsonDepth(inString, 1)).toBe(false);
    expect(exceedsJsonDepth(utf8.encode(inString), 1)).toBe(false);
    // An escaped backslash ends before the quote, which then closes the string.
    expect(exceedsJsonDepth('["\\\\", [[1]]]', 2)).toBe(true);
    expect(exceedsJsonDepth('["\\"[[[", 1]', 1)).toBe(false);
  });

  it('reads multi-byte UTF-8 without mistaking its bytes for brackets', () => {
    const text = JSON.stringify([['€ 𝄞 \u{7b}\u{5b} ü', { ключ: '日本' }]]);
    expect(exceedsJsonDepth(utf8.encode(text), 3)).toBe(false);
    expect(exceedsJsonDepth(utf8.encode(text), 2)).toBe(true);
  });

  it('stops at the first level too deep, whatever follows (a 1,000,000-deep body)', () => {
    const huge = utf8.encode(nested(1_000_000));
    expect(exceedsJsonDepth(huge)).toBe(true);
    expect(exceedsJsonDepth(`${nested(MAX_JSON_DEPTH + 1)}garbage`)).toBe(true);
  });

  it('agrees with the depth of the parsed value for any JSON text', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }),
        fc.integer({ min: 0, max: 10 }),
        (value, maxDepth) => {
          const text = JSON.stringify(value);
          const expected = depthOf(value) > maxDepth;
          expect(exceedsJsonDepth(text, maxDepth)).toBe(expected);
          expect(exceedsJsonDepth(utf8.encode(text), maxDepth)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
