import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findUnstorableText } from '../../src/db/storable-text.js';

// The walk as it was written recursively, kept as the reference for the order and paths.
function recursiveReference(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') {
    const bad = value.includes('\u0000') || /\p{Cs}/u.test(value);
    return bad ? path || '(root)' : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = recursiveReference(value[index], `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, inner] of Object.entries(value)) {
    const keyPath = path === '' ? key : `${path}.${key}`;
    if (recursiveReference(key) !== undefined) return keyPath;
    const found = recursiveReference(inner, keyPath);
    if (found !== undefined) return found;
  }
  return undefined;
}

describe('findUnstorableText', () => {
  it('names the first offending string or key in document order', () => {
    expect(findUnstorableText({ a: { b: ['ok', 'x\u0000'] } })).toBe('a.b[1]');
    expect(findUnstorableText({ a: { '\u0000': 1 }, '\u0000b': 2 })).toBe('a.\u0000');
    expect(findUnstorableText({ a: 1, 'b\ud800': 2 })).toBe('b\ud800');
    expect(findUnstorableText('\udc00')).toBe('(root)');
    expect(findUnstorableText({ ok: ['\ud83d\ude00'] })).toBeUndefined();
    expect(findUnstorableText([{ x: '\u0000' }], 'metrics')).toBe('metrics[0].x');
  });

  it('walks a value nested 200,000 deep without overflowing the stack (recursion broke near 4,000)', () => {
    let deep: unknown = '\u0000';
    for (let level = 0; level < 200_000; level++) deep = [deep];
    const path = findUnstorableText(deep);
    expect(path).toBe('[0]'.repeat(200_000));
    let clean: unknown = 1;
    for (let level = 0; level < 200_000; level++) clean = { a: clean };
    expect(findUnstorableText(clean)).toBeUndefined();
  });

  it('terminates on a cyclic value', () => {
    const cyclic: Record<string, unknown> = { a: 'fine' };
    cyclic.self = cyclic;
    expect(findUnstorableText(cyclic)).toBeUndefined();
  });

  it('answers as the recursive walk did for any JSON value', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.constantFrom('\u0000', '\ud800', 'a\udc00', '\ud83d\ude00'),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(text, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (input) => {
        expect(findUnstorableText(input)).toBe(recursiveReference(input));
      }),
      { numRuns: 1000 },
    );
  });
});
