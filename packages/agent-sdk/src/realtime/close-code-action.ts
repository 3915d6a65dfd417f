import { REALTIME_CLOSE_CODES } from '@fieldline/core';

/**
 * What the device does after a connection closed (docs/protocol.md §4.6):
 *
 * - `stop`: our own shutdown (1000 we sent): do not reconnect;
 * - `revoked`: 4403: stop for good, the agent goes `unenrolled`;
 * - `new_hello`: 4401: drop the session token and reconnect with a signed hello;
 * - `rotate`: 4426: the server requires new device keys: rotate them, then reconnect;
 * - `wait_cap`: 4000 (replaced): wait the backoff cap, then reconnect;
 * - `backoff`: anything else: reconnect after a full-jitter backoff.
 */
export type CloseCodeAction = 'stop' | 'revoked' | 'new_hello' | 'rotate' | 'wait_cap' | 'backoff';

/**
 * Maps a close code to what the device does next.
 *
 * @param code - the WebSocket close code (1006 when the socket died without a close frame).
 * @param shuttingDown - whether this side is shutting down (then any code means stop).
 * @returns the action.
 * @example
 * ```ts
 * closeCodeAction(4000, false); // 'wait_cap'
 * ```
 */
export function closeCodeAction(code: number, shuttingDown: boolean): CloseCodeAction {
  if (shuttingDown) return 'stop';
  switch (code) {
    case REALTIME_CLOSE_CODES.deviceRevoked:
      return 'revoked';
    case REALTIME_CLOSE_CODES.unauthenticated:
      return 'new_hello';
    case REALTIME_CLOSE_CODES.keyRotationRequired:
      return 'rotate';
    case REALTIME_CLOSE_CODES.replaced:
    // Quarantined as a suspected clone: nothing changes until an admin acts, so come back slowly.
    case REALTIME_CLOSE_CODES.deviceQuarantined:
      return 'wait_cap';
    default:
      // 1000 from the server is not in its vocabulary (it says 1001 when it goes away), so a
      // device that did not ask to stop treats it like any other drop and comes back.
      return 'backoff';
  }
}
