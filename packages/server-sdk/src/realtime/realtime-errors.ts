import { FieldlineError } from '@fieldline/core';

/** Why a gateway request to a device did not get its answer. */
export type RealtimeRequestErrorCode = 'not_connected' | 'request_timeout' | 'connection_closed';

/**
 * A gateway request to a device failed: the device is not connected here,
 * did not answer in time, or its connection closed first. The device may
 * still act on the request; use a durable command when that matters.
 */
export class RealtimeRequestError extends FieldlineError<RealtimeRequestErrorCode> {
  override readonly name = 'RealtimeRequestError';
}

/** The device answered a gateway request with an `error` frame. */
export class RealtimeRemoteError extends FieldlineError<string> {
  override readonly name = 'RealtimeRemoteError';
}
