import type { Clock } from '@fieldline/core';
import { createIdleCollector, type IdleCollectorOptions } from './idle-collector.js';
import {
  createNetworkVolumeCollector,
  type NetworkVolumeCollectorOptions,
} from './network-volume-collector.js';
import type { IntervalScheduler, PollingCollector } from './poll-loop.js';
import {
  createProcessActivityCollector,
  type ProcessActivityCollectorOptions,
} from './process-activity-collector.js';
import {
  createWindowFocusCollector,
  type WindowFocusCollectorOptions,
} from './window-focus-collector.js';

/**
 * Options of {@link linuxCollectors}: seams shared by all four collectors,
 * and each collector's own options (which win over the shared ones).
 */
export interface LinuxCollectorsOptions {
  /**
   * Where the proc filesystem is mounted.
   * @default '/proc'
   */
  readonly procRoot?: string;
  /**
   * Time source for every collector.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Timer for every collector.
   * @default systemScheduler
   */
  readonly scheduler?: IntervalScheduler;
  /**
   * Told about polls that failed unexpectedly.
   * @default ignores the error
   */
  readonly onError?: (error: unknown) => void;
  /** Options of the `app-activity` collector. */
  readonly appActivity?: ProcessActivityCollectorOptions;
  /** Options of the `network-volume` collector. */
  readonly networkVolume?: NetworkVolumeCollectorOptions;
  /** Options of the `idle` collector. */
  readonly idle?: IdleCollectorOptions;
  /** Options of the `window-focus` collector. */
  readonly windowFocus?: WindowFocusCollectorOptions;
}

/**
 * Creates the four Linux collectors, in this order: `app-activity`,
 * `network-volume`, `idle`, `window-focus`. Ask each one's `support()`
 * before starting it; on a headless machine `idle` and `window-focus` say
 * why they cannot run.
 *
 * @param options - shared seams and per-collector options.
 * @returns the collectors, keyed by their `name` in the device config.
 * @throws {RangeError} when an interval or bound in the options is not positive.
 * @example
 * ```ts
 * for (const collector of linuxCollectors()) {
 *   const support = await collector.support();
 *   if (support.supported) await collector.start(emit);
 * }
 * ```
 */
export function linuxCollectors(options: LinuxCollectorsOptions = {}): readonly PollingCollector[] {
  const shared = {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
  const proc = options.procRoot === undefined ? {} : { procRoot: options.procRoot };
  return [
    createProcessActivityCollector({ ...shared, ...proc, ...options.appActivity }),
    createNetworkVolumeCollector({ ...shared, ...proc, ...options.networkVolume }),
    createIdleCollector({ ...shared, ...options.idle }),
    createWindowFocusCollector({ ...shared, ...proc, ...options.windowFocus }),
  ];
}
