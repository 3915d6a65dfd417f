/**
 * WebSocket close codes of the real-time channel (docs/protocol.md §4.6).
 * 1000–1011 keep their RFC 6455 meaning; 4000–4999 are Fieldline's.
 */
export const REALTIME_CLOSE_CODES = Object.freeze({
  /** The peer ended the session on purpose (agent shutdown). Do not reconnect. */
  normal: 1000,
  /** The server is shutting down or restarting. Reconnect with backoff. */
  goingAway: 1001,
  /** A frame was larger than the server's `maxPayload`. */
  tooLarge: 1009,
  /**
   * Try again later: the server was full of pending handshakes and gave this one's slot, still
   * waiting for its hello, to a source holding fewer (§4.1), or a dependency of the server (its
   * database) is away. Reconnect with backoff.
   */
  tryAgainLater: 1013,
  /** A newer connection of the same device replaced this one. Reconnect only after the backoff cap. */
  replaced: 4000,
  /** No sign of life within the heartbeat timeout. */
  heartbeatTimeout: 4001,
  /** The peer read too slowly: the server's send buffer for it passed its cap. */
  slowConsumer: 4002,
  /** The peer sent frames faster than the allowed rate. */
  rateLimited: 4003,
  /** A frame was not JSON, not a known frame, binary, or out of order. */
  invalidFrame: 4400,
  /** Authentication failed: unknown device, bad signature, skewed clock, unknown or expired session. */
  unauthenticated: 4401,
  /** The device was revoked: stop, do not reconnect. */
  deviceRevoked: 4403,
  /**
   * The device is quarantined as a suspected clone (two holders of its keys kept displacing
   * each other): stop; an admin must act (revoke, or force a key rotation and release it).
   */
  deviceQuarantined: 4423,
  /** The server requires new device keys: rotate them over HTTP (`POST /v1/keys/rotate`), then reconnect. */
  keyRotationRequired: 4426,
  /** No hello or resume within the hello timeout. */
  helloTimeout: 4408,
  /** The hello's nonce was already used. Reconnect with a fresh hello. */
  replayed: 4409,
});

/** A close code of the real-time channel. */
export type RealtimeCloseCode = (typeof REALTIME_CLOSE_CODES)[keyof typeof REALTIME_CLOSE_CODES];
