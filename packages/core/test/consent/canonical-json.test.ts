import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonBytes } from '../../src/consent/canonical-json.js';
import { isInvalidArgumentError } from '../../src/errors.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { z: [3, { y: true, x: null }], c: 'é' } })).toBe(
      '{"a":{"c":"é","z":[3,{"x":null,"y":true}]},"b":1}',
    );
  });

  it('is independent of key insertion order', () => {
    const one = { id: 'r1', nested: { left: 1, right: [1, 2] }, flag: false };
    const two = { flag: false, nested: { right: [1, 2], left: 1 }, id: 'r1' };
    expect(canonicalJson(two)).toBe(canonicalJson(one));
  });

  it('orders keys by UTF-16 code units, not by locale', () => {
    // U+00E9 sorts after 'z' by code unit; an emoji (surrogate pair, 0xD83D…) after U+00E9 and
    // before U+FF5E, although its code point is higher.
    expect(canonicalJson({ z: 1, é: 2, a: 3, B: 4, '😀': 5, '～': 6 })).toBe(
      '{"B":4,"a":3,"z":1,"é":2,"😀":5,"～":6}',
    );
  });

  it('writes numbers in their shortest ECMAScript form', () => {
    expect(canonicalJson([0, -0, 1, -1.5, 1e21, 1e-7, 0.1, 100, 2 ** 53])).toBe(
      '[0,0,1,-1.5,1e+21,1e-7,0.1,100,9007199254740992]',
    );
  });

  it('escapes strings the JSON way, keeping non-ASCII as is', () => {
    expect(canonicalJson('a"b\\c\n\t\u0001\u2028ü')).toBe('"a\\"b\\\\c\\n\\t\\u0001\u2028ü"');
  });

  it('leaves out undefined object members', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('encodes UTF-8', () => {
    expect([...canonicalJsonBytes({ k: 'é' })]).toEqual([
      0x7b, 0x22, 0x6b, 0x22, 0x3a, 0x22, 0xc3, 0xa9, 0x22, 0x7d,
    ]);
  });

  it('rejects what is not JSON', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad: unknown[] = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      undefined,
      () => 1,
      10n,
      Symbol('s'),
      new Date(0),
      new Map(),
      [1, undefined],
      '\ud800',
      { '\udc00': 1 },
      circular,
    ];
    for (const value of bad) {
      try {
        canonicalJson(value);
        expect.unreachable(String(value));
      } catch (error) {
        expect(isInvalidArgumentError(error)).toBe(true);
      }
    }
  });

  it('accepts shared (non-circular) references', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    expect(canonicalJson(Object.assign(Object.create(null), { k: 1 }))).toBe('{"k":1}');
  });
});
