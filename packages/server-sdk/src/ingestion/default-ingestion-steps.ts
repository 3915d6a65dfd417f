import { type Clock, type Identity, type ReplayGuard, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import { createDatabaseReplayGuard } from './database-replay-guard.js';
import type { IngestionStep } from './pipeline.js';
import { createBuildResultsStep } from './steps/build-results.js';
import {
  type ConsentHistorySource,
  type ConsentRefusalAuditEntry,
  createCheckConsentStep,
} from './steps/check-consent.js';
import { createCountConsentRefusalsStep } from './steps/count-consent-refusals.js';
import { createDeadLetterStep } from './steps/dead-letter.js';
import { createDedupBatchStep } from './steps/dedup-batch.js';
import { createEnrichEventsStep } from './steps/enrich-events.js';
import { createLoadSheddingStep, type LoadSheddingStepOptions } from './steps/load-shedding.js';
import { createMeasureIngestionStep, type IngestionSummary } from './steps/measure-ingestion.js';
import { createOpenBatchStep } from './steps/open-batch.js';
import { createParseBatchStep } from './steps/parse-batch.js';
import { createRateLimitStep, type RateLimitStepOptions } from './steps/rate-limit.js';
import { createSizeLimitStep } from './steps/size-limit.js';
import { createStoreEventsStep, type StoreEventsStepOptions } from './steps/store-events.js';
import { createValidateEventsStep, type EventValidator } from './steps/validate-events.js';

/** What {@link defaultIngestionSteps} needs; each step's own options stay with its factory. */
export interface DefaultIngestionDeps {
  /** The Fieldline database. */
  readonly db: Kysely<FieldlineDatabase>;
  /** The server's identity; frames are sealed to it. */
  readonly serverIdentity: Identity;
  /**
   * Earlier server identities still in their rotation overlap (read per batch).
   * @default none
   */
  readonly previousServerIdentities?: () => readonly Identity[];
  /** Consent histories, from the consent ledger. */
  readonly consent: ConsentHistorySource;
  /** Records one entry per batch with consent refusals. */
  readonly audit: (entry: ConsentRefusalAuditEntry) => Promise<void> | void;
  /**
   * Time source for freshness, replay and rate limits.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Accepted message ids.
   * @default createDatabaseReplayGuard(db, { clock, windowMs: maxSkewMs })
   */
  readonly replayGuard?: ReplayGuard;
  /**
   * Largest device/server clock difference, in milliseconds.
   * @default 60_000
   */
  readonly maxSkewMs?: number;
  /**
   * The accepted event types.
   * @default createEventRegistry()
   */
  readonly registry?: EventValidator;
  /** Metrics callback; when given, a `measure` step comes first. */
  readonly onResult?: (summary: IngestionSummary) => void;
  /**
   * Largest body in bytes.
   * @default 1_048_576
   */
  readonly maxBodyBytes?: number;
  /**
   * Per-device token buckets.
   * @default { capacity: 40, refillPerSecond: 20, clock }
   */
  readonly rateLimit?: RateLimitStepOptions;
  /**
   * Concurrency cap for all devices.
   * @default { maxInFlight: 64, maxQueue: 0, retryAfterSeconds: 1 }
   */
  readonly loadShedding?: LoadSheddingStepOptions;
  /**
   * Store step sizing and topic (its `db` is `deps.db`).
   * @default {}
   */
  readonly store?: Omit<StoreEventsStepOptions, 'db'>;
}

/**
 * The standard `POST /v1/events` steps, in order: `measure` (only with `onResult`),
 * `size-limit`, `rate-limit`, `load-shedding`, `open-batch`, `parse-batch`, `validate-events`,
 * `check-consent`, `dedup-batch`, `enrich-events`, `count-consent-refusals`, `dead-letter`, `store-events`,
 * `build-results`. Change the list with `insertStepAfter`, `insertStepBefore`, `replaceStep`
 * and `removeStep`. The rate and concurrency limits live in the returned steps: build the list
 * once per server, not per request.
 *
 * @param deps - database, identity, consent, audit, and optional overrides.
 * @returns a new list of steps.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} for invalid limits.
 * @example
 * ```ts
 * const pipeline = createIngestionPipeline(
 *   insertStepAfter(defaultIngestionSteps({ db, serverIdentity, consent, audit }), 'enrich-events', geoStep),
 * );
 * ```
 */
export function defaultIngestionSteps(deps: DefaultIngestionDeps): IngestionStep[] {
  const clock = deps.clock ?? systemClock;
  const maxSkewMs = deps.maxSkewMs ?? 60_000;
  const replayGuard =
    deps.replayGuard ?? createDatabaseReplayGuard(deps.db, { clock, windowMs: maxSkewMs });
  const steps: IngestionStep[] = [];
  if (deps.onResult !== undefined)
    steps.push(createMeasureIngestionStep({ onResult: deps.onResult }));
  steps.push(
    createSizeLimitStep(deps.maxBodyBytes === undefined ? {} : { maxBytes: deps.maxBodyBytes }),
    createRateLimitStep({ clock, ...deps.rateLimit }),
    createLoadSheddingStep(deps.loadShedding),
    createOpenBatchStep({
      serverIdentity: deps.serverIdentity,
      replayGuard,
      clock,
      maxSkewMs,
      ...(deps.previousServerIdentities === undefined
        ? {}
        : { previousServerIdentities: deps.previousServerIdentities }),
    }),
    createParseBatchStep(),
    createValidateEventsStep(deps.registry === undefined ? {} : { registry: deps.registry }),
    createCheckConsentStep({ consent: deps.consent, audit: deps.audit }),
    createDedupBatchStep(),
    createEnrichEventsStep(),
    createCountConsentRefusalsStep({ db: deps.db }),
    createDeadLetterStep({ db: deps.db }),
    createStoreEventsStep({ ...deps.store, db: deps.db }),
    createBuildResultsStep(),
  );
  return steps;
}
