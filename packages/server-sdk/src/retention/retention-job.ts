import { type Clock, InvalidArgumentError, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import {
  type EnforceRetentionOptions,
  enforceRetention,
  type RetentionReport,
} from './enforce-retention.js';

/** Options of {@link createRetentionJob}. */
export interface RetentionJobOptions extends Omit<EnforceRetentionOptions, 'clock'> {
  /** The Fieldline database. */
  readonly db: Kysely<FieldlineDatabase>;
  /**
   * Time source of the horizons and the audit rows.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * How often {@link RetentionJob.start} runs the job, in milliseconds. Keep it well under
   * `aheadDays`, so partitions always exist before their day starts.
   * @default 3_600_000 (hourly)
   */
  readonly intervalMs?: number;
  /** Receives the report of every run (metrics, logs). */
  readonly onRun?: (report: RetentionReport) => void;
  /** Receives the error of a failed periodic run; the next run retries. */
  readonly onError?: (error: unknown) => void;
}

/** The scheduled retention of raw events; see {@link enforceRetention}. */
export interface RetentionJob {
  /**
   * Runs once now (after a run in progress, never beside it).
   *
   * @returns what the run did.
   * @throws the error of the run.
   */
  run(): Promise<RetentionReport>;
  /** Runs once at once, then every `intervalMs`. */
  start(): void;
  /** Stops the schedule and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Creates the retention job: {@link enforceRetention} on a schedule (hourly by default),
 * serialized in this process, and across processes by an advisory lock.
 *
 * @param options - database, clock, interval, callbacks and the run's options.
 * @returns the job (not started).
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when `intervalMs`
 *   is not a positive integer.
 * @example
 * ```ts
 * const retention = createRetentionJob({ db, onError: (error) => logger.warn({ err: error }) });
 * retention.start();
 * // … on shutdown:
 * await retention.stop();
 * ```
 */
export function createRetentionJob(options: RetentionJobOptions): RetentionJob {
  const { db, onRun, onError, intervalMs: interval, ...runOptions } = options;
  const intervalMs = interval ?? 3_600_000;
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw new InvalidArgumentError('intervalMs must be a positive integer.', { intervalMs });
  }
  const clock = options.clock ?? systemClock;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> = Promise.resolve();

  function run(): Promise<RetentionReport> {
    const result = running.then(async () => {
      const report = await enforceRetention(db, { ...runOptions, clock });
      onRun?.(report);
      return report;
    });
    running = result.catch(() => undefined);
    return result;
  }

  const runInBackground = (): void => {
    run().catch((error: unknown) => onError?.(error));
  };

  return {
    run,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(runInBackground, intervalMs);
      timer.unref?.();
      runInBackground();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
