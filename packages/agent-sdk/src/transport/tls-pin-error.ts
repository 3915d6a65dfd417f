import { FieldlineError, isFieldlineError } from '@fieldline/core';

/**
 * The server's TLS certificate chain holds none of the agent's pinned keys: someone between
 * the agent and the server (or a certificate issued for a new key without a pin for it)
 * presented a certificate the agent was told not to trust. The connection was closed during
 * the TLS handshake, before any request byte was sent. Not retryable: the same network path
 * presents the same key; the agent keeps its data spooled and tries again on its next flush.
 */
export class TlsPinError extends FieldlineError<'tls_pin_mismatch'> {
  /**
   * @param message - a sentence a person can act on.
   * @param details - `host`, the `presented` pins of the chain and the `expected` pins.
   */
  constructor(
    message: string,
    details: {
      readonly host: string;
      readonly presented: readonly string[];
      readonly expected: readonly string[];
    },
  ) {
    super('tls_pin_mismatch', message, { details });
    this.name = 'TlsPinError';
  }
}

/**
 * Narrows an unknown value to a {@link TlsPinError}.
 *
 * @param value - anything caught.
 * @returns whether it is one (from any copy of this package).
 * @example
 * ```ts
 * try { await agent.enroll(options); }
 * catch (error) { if (isTlsPinError(error)) console.error(error.message); }
 * ```
 */
export function isTlsPinError(value: unknown): value is TlsPinError {
  return (
    isFieldlineError(value) && value.name === 'TlsPinError' && value.code === 'tls_pin_mismatch'
  );
}

/**
 * The pin error in an error's `cause` chain: fetch wraps it in `TypeError: fetch failed`.
 *
 * @internal
 * @param error - what a request threw.
 * @returns the pin error, or undefined.
 */
export function findTlsPinError(error: unknown): TlsPinError | undefined {
  let current: unknown = error;
  // Bounded: a cause chain can be cyclic.
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (isTlsPinError(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
