import { validate as uuidValidate, version as uuidVersion } from 'uuid';
import { type Clock, systemClock } from '../contracts/clock.js';
import { type Random, systemRandom } from '../contracts/random.js';

/** Options of {@link createEventIdGenerator}. */
export interface EventIdGeneratorOptions {
  /**
   * Time source for the id's millisecond timestamp.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Source of the id's random bits.
   * @default systemRandom
   */
  readonly random?: Random;
}

// Random bytes are drawn in blocks because one CSPRNG call per id would
// dominate the cost of `track()`.
const POOL_BYTES = 4096;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * Formats a UUIDv7 from its parts, byte for byte as the `uuid` package's
 * `v7({ msecs, seq, random })` does (a test holds the two equal), but without
 * its intermediate buffer and options object: id generation is on the hot
 * path of every `track()`. `timeHex` is the formatted first 13 characters.
 */
function formatV7(timeHex: string, seq: number, random: Uint8Array): string {
  return (
    timeHex +
    '7' +
    ((seq >>> 28) & 0x0f).toString(16) +
    HEX[(seq >>> 20) & 0xff] +
    '-' +
    HEX[0x80 | ((seq >>> 14) & 0x3f)] +
    HEX[(seq >>> 6) & 0xff] +
    '-' +
    HEX[((seq << 2) & 0xff) | (random[10]! & 0x03)] +
    HEX[random[11]!] +
    HEX[random[12]!] +
    HEX[random[13]!] +
    HEX[random[14]!] +
    HEX[random[15]!]
  );
}

function formatTime(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}

/**
 * Creates a generator of UUIDv7 event ids (RFC 9562): a 48-bit millisecond
 * timestamp, then a 32-bit counter (spread over the 12 `rand_a` bits and the top of
 * `rand_b`) that keeps ids from one generator strictly
 * increasing even when the clock stalls or steps back, then random bits.
 * Sorting ids therefore sorts events by creation order on a device.
 *
 * @param options - clock and randomness, injectable for deterministic tests.
 * @returns a function returning a new lowercase UUIDv7 string on each call.
 * @example
 * ```ts
 * const nextId = createEventIdGenerator();
 * nextId(); // '019a8c2e-4f1b-7c3d-9e2f-0a1b2c3d4e5f'
 * ```
 */
export function createEventIdGenerator(options: EventIdGeneratorOptions = {}): () => string {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  let pool = random.bytes(POOL_BYTES);
  let offset = 0;
  let lastMs = Number.NEGATIVE_INFINITY;
  let seq = 0;
  let timeHexMs = Number.NaN;
  let timeHex = '';
  return () => {
    if (offset + 16 > pool.length) {
      pool = random.bytes(POOL_BYTES);
      offset = 0;
    }
    const rnds = pool.subarray(offset, offset + 16);
    offset += 16;
    const now = clock.now();
    if (now > lastMs) {
      lastMs = now;
      // Start the 32-bit counter in its lower half so billions of ids fit in
      // one millisecond before it carries into the timestamp.
      seq = (((rnds[6]! & 0x7f) << 24) | (rnds[7]! << 16) | (rnds[8]! << 8) | rnds[9]!) >>> 0;
    } else {
      seq = (seq + 1) >>> 0;
      if (seq === 0) lastMs += 1;
    }
    if (lastMs !== timeHexMs) {
      timeHexMs = lastMs;
      timeHex = formatTime(lastMs);
    }
    return formatV7(timeHex, seq, rnds);
  };
}

/**
 * Tells whether a string is a well-formed UUID of version 7.
 *
 * @param value - the candidate id.
 * @returns true for a canonical UUIDv7 string.
 */
export function isEventId(value: string): boolean {
  return uuidValidate(value) && uuidVersion(value) === 7;
}

/**
 * Reads the creation time (ms since the epoch) embedded in a UUIDv7.
 *
 * @param id - a UUIDv7 string.
 * @returns the embedded millisecond timestamp, or undefined if `id` is not a UUIDv7.
 */
export function eventIdTimestampMs(id: string): number | undefined {
  if (!isEventId(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
