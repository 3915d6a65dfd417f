import type { Identity, ServerKeyRotation } from '@fieldline/core';

/** A server identity that was rotated out and is still accepted until `notAfter`. */
export interface PreviousServerKey {
  readonly identity: Identity;
  /** The end of the overlap window: frames sealed to this key are refused after it. */
  readonly notAfter: Date;
}

/** What a server remembers of its earlier keys (docs/protocol.md §5.5). */
export interface ServerKeyHistory {
  /** Earlier identities still in their overlap window (or past it: they are then ignored). */
  readonly previous?: readonly PreviousServerKey[];
  /** Every rotation, oldest first, each signed by the key before it; agents walk this chain. */
  readonly rotations?: readonly ServerKeyRotation[];
}

/** The server's current identity, the earlier ones it still opens frames for, and the chain. */
export interface ServerKeyRing {
  readonly current: Identity;
  readonly rotations: readonly ServerKeyRotation[];
  /**
   * The earlier identities whose overlap window is still open.
   *
   * @param nowMs - now.
   * @returns them, newest first.
   */
  previousAt(nowMs: number): readonly Identity[];
}

/**
 * Builds the key ring of {@link ServerKeyRing}.
 *
 * @param current - the identity the server signs and is sealed to now.
 * @param history - earlier identities and the rotation chain.
 * @returns the ring.
 * @example
 * ```ts
 * const ring = createServerKeyRing(identity, { previous: [{ identity: old, notAfter }], rotations });
 * ```
 */
export function createServerKeyRing(
  current: Identity,
  history: ServerKeyHistory = {},
): ServerKeyRing {
  const previous = [...(history.previous ?? [])].sort(
    (a, b) => b.notAfter.getTime() - a.notAfter.getTime(),
  );
  return {
    current,
    rotations: [...(history.rotations ?? [])],
    previousAt: (nowMs) =>
      previous.filter((key) => key.notAfter.getTime() > nowMs).map((key) => key.identity),
  };
}
