import { createHash } from 'node:crypto';
import type { Clock } from '../../src/contracts/clock.js';
import { type Identity, identityFromPrivateKeys } from '../../src/crypto/index.js';

/** 32 deterministic bytes named by a label, so fixtures are reproducible and self-describing. */
export function bytesFor(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}

/** A fixed identity derived from a label. */
export function fixedIdentity(label: string): Identity {
  return identityFromPrivateKeys(bytesFor(`${label} signing`), bytesFor(`${label} encryption`));
}

/** A clock the test moves by hand. */
export interface ManualClock extends Clock {
  set(nowMs: number): void;
  advance(ms: number): void;
}

export function manualClock(startMs: number): ManualClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    set: (value) => {
      nowMs = value;
    },
    advance: (ms) => {
      nowMs += ms;
    },
  };
}
