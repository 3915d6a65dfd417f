import { FieldlineError, isFieldlineError } from '@fieldline/core';

/** Codes of {@link RealtimeError}. */
export type RealtimeErrorCode =
  /** The socket is not `ready`; nothing was sent. */
  | 'not_ready'
  /** No reply within the timeout; a late reply is ignored. */
  | 'request_timeout'
  /** The connection closed (or the agent shut down) before the reply. */
  | 'connection_closed'
  /** The server answered with an `error` frame; `details.code` holds its code. */
  | 'remote_error'
  /** The reply's sealed body could not be opened with the pinned server key. */
  | 'invalid_reply'
  /** A command or message frame from the server was refused (reported on `error`; not acked). */
  | 'invalid_frame'
  /** An ack could not be delivered (reported on `error`; the server redelivers the command). */
  | 'ack_failed';

const CODES = new Set<string>([
  'not_ready',
  'request_timeout',
  'connection_closed',
  'remote_error',
  'invalid_reply',
  'invalid_frame',
  'ack_failed',
]);

/**
 * A failure of the real-time side: why `agent.request()` gave up, or (on the agent's `error`
 * event) a frame that was refused or an ack that could not be delivered. `remote_error` carries the server's error code in
 * `details.code` (e.g. `unknown_channel`).
 */
export class RealtimeError extends FieldlineError<RealtimeErrorCode> {
  /**
   * @param code - what went wrong.
   * @param message - a sentence a person can act on.
   * @param options - structured details and the cause.
   */
  constructor(
    code: RealtimeErrorCode,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'RealtimeError';
  }
}

/**
 * Narrows an unknown value to a {@link RealtimeError}.
 *
 * @param value - anything caught.
 * @returns whether it is one.
 * @example
 * ```ts
 * try { await agent.request('files', 'list', {}); }
 * catch (error) { if (isRealtimeError(error) && error.code === 'not_ready') retryLater(); }
 * ```
 */
export function isRealtimeError(value: unknown): value is RealtimeError {
  return isFieldlineError(value) && value.name === 'RealtimeError' && CODES.has(value.code);
}
