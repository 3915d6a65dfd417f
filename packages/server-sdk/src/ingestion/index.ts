export {
  type ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  createConcurrencyLimiter,
  type ReleaseSlot,
} from './concurrency-limiter.js';
export {
  createDatabaseReplayGuard,
  type DatabaseReplayGuardOptions,
} from './database-replay-guard.js';
export { type DefaultIngestionDeps, defaultIngestionSteps } from './default-ingestion-steps.js';
export {
  createIngestionContext,
  type EnrichedEvent,
  type IngestionContext,
  type IngestionDevice,
  type IngestionEntry,
  type IngestionEntryStatus,
  type IngestionInput,
  type IngestionResult,
  pendingEntries,
  rejectEntry,
  requireBatch,
} from './ingestion-context.js';
export {
  createIngestionPipeline,
  type IngestionNext,
  type IngestionPipeline,
  type IngestionStep,
  ingestionStep,
  runIngestion,
} from './pipeline.js';
export { insertStepAfter, insertStepBefore, removeStep, replaceStep } from './step-list.js';
export { createBuildResultsStep } from './steps/build-results.js';
export {
  type CheckConsentStepOptions,
  type ConsentHistory,
  type ConsentHistorySource,
  type ConsentRefusalAuditEntry,
  createCheckConsentStep,
} from './steps/check-consent.js';
export {
  type CountConsentRefusalsStepOptions,
  createCountConsentRefusalsStep,
} from './steps/count-consent-refusals.js';
export {
  createDeadLetterStep,
  type DeadLetterStepOptions,
  type EventsDeadLetter,
} from './steps/dead-letter.js';
export { createDedupBatchStep } from './steps/dedup-batch.js';
export { createEnrichEventsStep } from './steps/enrich-events.js';
export { createLoadSheddingStep, type LoadSheddingStepOptions } from './steps/load-shedding.js';
export {
  createMeasureIngestionStep,
  type IngestionSummary,
  type MeasureIngestionStepOptions,
} from './steps/measure-ingestion.js';
export { createOpenBatchStep, type OpenBatchStepOptions } from './steps/open-batch.js';
export { createParseBatchStep } from './steps/parse-batch.js';
export { createRateLimitStep, type RateLimitStepOptions } from './steps/rate-limit.js';
export { createSizeLimitStep, type SizeLimitStepOptions } from './steps/size-limit.js';
export {
  createStoreEventsStep,
  type EventsIngestedMessage,
  type StoreEventsStepOptions,
} from './steps/store-events.js';
export {
  createValidateEventsStep,
  type EventValidator,
  type ValidateEventsStepOptions,
} from './steps/validate-events.js';
export {
  createTokenBucketLimiter,
  type TokenBucketDecision,
  type TokenBucketLimiter,
  type TokenBucketLimiterOptions,
} from './token-bucket.js';
