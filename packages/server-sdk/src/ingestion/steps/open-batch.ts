import {
  type Clock,
  type Identity,
  type ReplayGuard,
  SealKind,
  systemClock,
} from '@fieldline/core';
import { openDeviceFrame } from '../../sealing/open-device-frame.js';
import type { IngestionStep } from '../pipeline.js';

/** Options of {@link createOpenBatchStep}. */
export interface OpenBatchStepOptions {
  /** The server's identity; its X25519 key opens the frames. */
  readonly serverIdentity: Identity;
  /**
   * Earlier server identities still in their rotation overlap, read per batch.
   * @default none
   */
  readonly previousServerIdentities?: () => readonly Identity[];
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
      ctx.message = await openDeviceFrame(ctx.rawBody, {
        serverIdentity: options.serverIdentity,
        previousServerIdentities: options.previousServerIdentities?.() ?? [],
        replayGuard: options.replayGuard,
        device: ctx.device,
        kind: SealKind.EventBatch,
        kindName: 'event batch',
        clock,
        ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
      });
      await next();
    },
  };
}
