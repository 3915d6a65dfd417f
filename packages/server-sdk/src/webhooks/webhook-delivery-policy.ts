import {
  type Clock,
  InvalidArgumentError,
  type Random,
  systemClock,
  systemRandom,
} from '@fieldline/core';
import {
  type ResolvedRetrySchedule,
  resolveRetrySchedule,
  type WebhookRetrySchedule,
} from './retry-schedule.js';
import { createWebhookSecretBox, type WebhookSecretBox } from './secret-box.js';

/** How deliveries are sent, retried, and when an endpoint is given up on. */
export interface WebhookDeliveryOptions {
  /** The 32-byte key endpoint secrets are encrypted under (`webhookSecretKey`). */
  readonly secretKey: Uint8Array;
  /**
   * Let endpoints reach private, loopback and link-local addresses (development and tests).
   * @default false
   */
  readonly allowPrivateUrls?: boolean;
  /**
   * Give up on one HTTP attempt after this long, in ms.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * Retry schedule.
   * @default 8 attempts over about 23 h
   */
  readonly retry?: WebhookRetrySchedule;
  /**
   * Disable an endpoint after this many failed attempts in a row (over all its deliveries).
   * @default 100
   */
  readonly disableAfterFailures?: number;
  /**
   * Disable an endpoint that has failed without a single success for this long, in ms.
   * @default 86400000 (24 h)
   */
  readonly disableAfterMs?: number;
  /**
   * Time source of schedules and signatures.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Randomness of the retry jitter.
   * @default systemRandom
   */
  readonly random?: Random;
}

/** {@link WebhookDeliveryOptions} with defaults applied. @internal */
export interface ResolvedWebhookDeliveryOptions {
  readonly secretBox: WebhookSecretBox;
  readonly allowPrivateUrls: boolean;
  readonly timeoutMs: number;
  readonly retry: ResolvedRetrySchedule;
  readonly disableAfterFailures: number;
  readonly disableAfterMs: number;
  readonly clock: Clock;
  readonly random: Random;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer.`, { [name]: value });
  }
  return value;
}

/**
 * Applies the defaults of {@link WebhookDeliveryOptions}.
 *
 * @param options - the caller's options.
 * @returns the options with defaults.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for a key that is
 *   not 32 bytes or a limit that is not a positive integer.
 * @internal
 */
export function resolveWebhookDeliveryOptions(
  options: WebhookDeliveryOptions,
): ResolvedWebhookDeliveryOptions {
  return {
    secretBox: createWebhookSecretBox(options.secretKey),
    allowPrivateUrls: options.allowPrivateUrls ?? false,
    timeoutMs: positive('timeoutMs', options.timeoutMs ?? 10_000),
    retry: resolveRetrySchedule(options.retry),
    disableAfterFailures: positive('disableAfterFailures', options.disableAfterFailures ?? 100),
    disableAfterMs: positive('disableAfterMs', options.disableAfterMs ?? 86_400_000),
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
  };
}
