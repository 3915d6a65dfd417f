import type { Clock } from '../contracts/clock.js';
import { systemClock } from '../contracts/clock.js';
import type { Random } from '../contracts/random.js';
import { InvalidArgumentError } from '../errors.js';
import type { EventEnvelope } from './envelope.js';
import { createEventIdGenerator } from './event-id.js';
import { isoTimestamp } from './iso-timestamp.js';

/** Options of {@link createEnvelopeFactory}. */
export interface EnvelopeFactoryOptions {
  /**
   * Time source for `occurredAt` and the id.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Randomness for ids.
   * @default systemRandom
   */
  readonly random?: Random;
  /**
   * The first `seq` to hand out; an agent passes the last persisted value + 1
   * so sequence numbers stay monotonic across restarts.
   * @default 0
   */
  readonly startSeq?: number;
}

/** Stamps validated data into envelopes: id, occurredAt, seq. */
export interface EnvelopeFactory {
  /**
   * Makes the envelope of one event.
   *
   * @param type - the event type name (already validated by the caller).
   * @param scope - the consent scope of the type.
   * @param data - the validated data.
   * @param occurredAtMs - when it happened; defaults to the clock's now.
   */
  create<Type extends string, Data extends object>(
    type: Type,
    scope: string,
    data: Data,
    occurredAtMs?: number,
  ): EventEnvelope<Type, Data>;
  /** The `seq` the next envelope will carry. */
  readonly nextSeq: number;
}

/**
 * Creates an {@link EnvelopeFactory}.
 *
 * @param options - clock, randomness and the first sequence number.
 * @throws {@link InvalidArgumentError} when `startSeq` is not a non-negative safe integer.
 * @example
 * ```ts
 * const envelopes = createEnvelopeFactory({ startSeq: lastSeq + 1 });
 * const event = envelopes.create('activity.system.active', 'activity', { idleForMs: 5000 });
 * ```
 */
export function createEnvelopeFactory(options: EnvelopeFactoryOptions = {}): EnvelopeFactory {
  const clock = options.clock ?? systemClock;
  const nextId = createEventIdGenerator({
    clock,
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  let seq = options.startSeq ?? 0;
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new InvalidArgumentError(`startSeq must be a non-negative safe integer, got ${seq}.`);
  }
  return {
    create(type, scope, data, occurredAtMs) {
      const at = occurredAtMs ?? clock.now();
      return {
        id: nextId(),
        type,
        occurredAt: isoTimestamp(at),
        seq: seq++,
        scope,
        data,
      };
    },
    get nextSeq() {
      return seq;
    },
  };
}
