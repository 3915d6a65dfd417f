import {
  type Clock,
  decodeSealedBody,
  type Identity,
  openJson,
  type ReplayGuard,
  type SealError,
  SealKind,
  systemClock,
} from '@fieldline/core';
import { HttpError } from '../../http/http-error.js';
import type { IngestionStep } from '../pipeline.js';

/** Options of {@link createOpenBatchStep}. */
export interface OpenBatchStepOptions {
  /** The server's identity; its X25519 key opens the frames. */
  readonly serverIdentity: Identity;
  /** Shared memory of accepted message ids, e.g. {@link createDatabaseReplayGuard}. */
  readonly replayGuard: ReplayGuard;
  /**
   * Time source for the freshness check.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Largest accepted clock difference between device and server, in milliseconds; the replay
   * guard's window must be at least this.
   * @default 60_000
   */
  readonly maxSkewMs?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function toHttpError(error: SealError): HttpError {
  const details =
    error.details === undefined ? { reason: error.code } : { reason: error.code, ...error.details };
  switch (error.code) {
    case 'bad_signature':
    case 'wrong_recipient':
    case 'unknown_sender':
      return new HttpError('bad_signature', error.message, { details: { reason: error.code } });
    case 'replayed':
      return new HttpError(
        'replayed',
        'This sealed message was already received; seal the batch again with a new message id.',
        {
          details,
        },
      );
    case 'timestamp_out_of_range':
      return new HttpError(
        'invalid_sealed_message',
        "The frame's timestamp is too far from the server's clock; check the device clock.",
        { details },
      );
    default:
      return new HttpError('invalid_sealed_message', error.message, { details });
  }
}

/**
 * Opens and verifies the sealed batch: the body must be JSON `{ "sealed": "…" }` holding a
 * frame of kind 1 (event batch) sent by the authenticated device, signed with its key, sealed
 * to the server, fresh, and not seen before. Sets `ctx.message`.
 *
 * Answers: body not JSON → 400 `invalid_json`; malformed frame, undecryptable, wrong kind,
 * payload not JSON or timestamp out of range → 400 `invalid_sealed_message` (details.reason
 * holds the seal check that failed); bad signature, wrong recipient key, or a sender id other
 * than the authenticated device → 401 `bad_signature`; replayed → 409 `replayed`.
 *
 * @param options - server identity, replay guard, clock and skew.
 * @returns the step, named `open-batch`.
 * @example
 * ```ts
 * createOpenBatchStep({ serverIdentity, replayGuard: createDatabaseReplayGuard(db) });
 * ```
 */
export function createOpenBatchStep(options: OpenBatchStepOptions): IngestionStep {
  const clock = options.clock ?? systemClock;
  return {
    name: 'open-batch',
    async run(ctx, next) {
      let body: unknown;
      try {
        body = JSON.parse(utf8.decode(ctx.rawBody));
      } catch {
        throw new HttpError('invalid_json', 'The body is not UTF-8 JSON; send { "sealed": "…" }.');
      }
      const frame = decodeSealedBody(body);
      if (!frame.ok) throw toHttpError(frame.error);
      const { device } = ctx;
      // Resolving the key by sender id (rather than pinning it) refuses a frame naming another
      // sender before its signature is checked or its message id reaches the replay guard.
      const opened = await openJson(frame.value, {
        recipient: options.serverIdentity,
        resolveSenderKey: (senderId) =>
          senderId === device.id ? device.signingPublicKey : undefined,
        clock,
        replayGuard: options.replayGuard,
        ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
      });
      if (!opened.ok) {
        if (opened.error.code === 'unknown_sender') {
          throw new HttpError(
            'bad_signature',
            'The frame was not sent by the authenticated device (sender id mismatch).',
            { details: { reason: 'sender_mismatch' } },
          );
        }
        throw toHttpError(opened.error);
      }
      if (opened.value.kind !== SealKind.EventBatch) {
        throw new HttpError(
          'invalid_sealed_message',
          `Expected a frame of kind ${SealKind.EventBatch} (event batch), got ${opened.value.kind}.`,
          { details: { reason: 'wrong_kind', kind: opened.value.kind } },
        );
      }
      ctx.message = opened.value;
      await next();
    },
  };
}
