import { randomBytes as nodeRandomBytes } from 'node:crypto';

/**
 * A source of randomness. Injected where randomness shapes observable
 * behaviour (ids, retry jitter) so tests can replay it. Key generation always
 * uses the platform's CSPRNG and does not go through this interface.
 */
export interface Random {
  /** A float in [0, 1), like `Math.random()`. */
  float(): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** Randomness from the platform CSPRNG (`node:crypto`). */
export const systemRandom: Random = Object.freeze({
  float: () => nodeRandomBytes(4).readUInt32BE(0) / 0x1_0000_0000,
  bytes: (length: number) => new Uint8Array(nodeRandomBytes(length)),
});
