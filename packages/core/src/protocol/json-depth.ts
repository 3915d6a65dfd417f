/**
 * How deeply arrays and objects may nest in any JSON the protocol reads from
 * the network (request bodies, sealed payloads, WebSocket frames): the root
 * array or object is level 1. The deepest real payload, an event batch whose
 * event data holds nested objects, stays far below it; anything deeper is
 * refused before it is parsed, so no recursive walk (validation, storage,
 * `JSON.stringify`) ever meets a structure that could exhaust the stack.
 * RFC 8259 §9 lets a parser set such a limit. docs/protocol.md §2 documents it.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Tells whether JSON text nests arrays and objects deeper than `maxDepth`,
 * with one linear pass over the text and no allocation: brackets inside
 * strings do not count. Works on UTF-8 bytes as well as on a string, since
 * the characters it looks at are ASCII and UTF-8 never uses their byte values
 * inside a multi-byte character. It does not check that the text is JSON;
 * `JSON.parse` does that afterwards, on text known to be shallow.
 *
 * @param text - the untrusted JSON text, as UTF-8 bytes or a string.
 * @param maxDepth - the deepest nesting allowed.
 * @returns true when some bracket opens level `maxDepth + 1`.
 * @example
 * ```ts
 * if (exceedsJsonDepth(body)) throw new HttpError('invalid_json', 'Too deep.');
 * const value = JSON.parse(new TextDecoder().decode(body));
 * ```
 */
export function exceedsJsonDepth(
  text: Uint8Array | string,
  maxDepth: number = MAX_JSON_DEPTH,
): boolean {
  return typeof text === 'string' ? scanString(text, maxDepth) : scanBytes(text, maxDepth);
}

// The two loops are the same state machine; they are kept apart so each stays monomorphic.
function scanBytes(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

function scanString(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
