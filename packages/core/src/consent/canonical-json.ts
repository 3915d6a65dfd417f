import { InvalidArgumentError } from '../errors.js';

// A lone surrogate (a UTF-16 half with no partner) cannot be encoded as UTF-8.
const loneSurrogate = /\p{Cs}/u;

/**
 * Serializes JSON data canonically, following RFC 8785 (JSON Canonicalization
 * Scheme): object keys sorted by UTF-16 code units at every depth, no
 * whitespace, ECMAScript number and string serialization. Equal data gives equal
 * text whatever the key order it was built in, which is what a signature needs.
 *
 * @param value - plain JSON data: null, booleans, finite numbers, strings, arrays and
 *   plain objects; no lone surrogates, no class instances (Dates, Maps), no cycles, no
 *   `undefined` in arrays. Object properties set to `undefined` are left out, as
 *   `JSON.stringify` does, so optional fields can be written plainly.
 * @returns the canonical JSON text.
 * @throws {@link InvalidArgumentError} when `value` is not plain JSON data.
 * @example
 * ```ts
 * canonicalJson({ b: [1, 'x'], a: { d: true, c: null } }); // '{"a":{"c":null,"d":true},"b":[1,"x"]}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$', new Set());
}

/**
 * {@link canonicalJson} encoded as UTF-8: the bytes to sign or hash.
 *
 * @param value - plain JSON data, as for {@link canonicalJson}.
 * @returns the UTF-8 bytes of the canonical JSON text.
 * @throws {@link InvalidArgumentError} when `value` is not plain JSON data.
 * @example
 * ```ts
 * const signature = sign(null, canonicalJsonBytes(receipt), privateKey);
 * ```
 */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

function write(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw notJson(path, `${value} is not a JSON number`);
      // ECMAScript's shortest round-trip form is exactly what RFC 8785 prescribes (-0 becomes 0).
      return JSON.stringify(value);
    case 'string':
      if (loneSurrogate.test(value)) throw notJson(path, 'the string has a lone surrogate');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw notJson(path, `a ${typeof value} is not JSON`);
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) throw notJson(path, 'the value is circular');
  ancestors.add(value);
  let text: string;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) throw notJson(`${path}[${i}]`, 'undefined is not JSON');
      items.push(write(item, `${path}[${i}]`, ancestors));
    }
    text = `[${items.join(',')}]`;
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw notJson(path, 'only plain objects are JSON objects');
    }
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    // Default sort compares UTF-16 code units, the order RFC 8785 requires.
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      if (loneSurrogate.test(key)) throw notJson(path, 'a key has a lone surrogate');
      members.push(`${JSON.stringify(key)}:${write(member, `${path}.${key}`, ancestors)}`);
    }
    text = `{${members.join(',')}}`;
  }
  ancestors.delete(value);
  return text;
}

function notJson(path: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`Cannot canonicalize ${path}: ${reason}`, { path });
}
