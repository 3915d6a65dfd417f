import type { Random } from '../contracts/random.js';

/**
 * Creates a deterministic {@link Random} from a 32-bit seed (mulberry32), so a
 * test that depends on jitter or ids replays exactly. Not for secrets.
 *
 * @param seed - any integer; the same seed gives the same sequence.
 * @example
 * ```ts
 * const random = createSeededRandom(42);
 * random.float(); // always the same first value for seed 42
 * ```
 */
export function createSeededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
  return {
    float: next,
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}
