export type { EnforceRetentionOptions, RetentionReport } from './enforce-retention.js';
export { enforceRetention, RETENTION_LOCK_KEY } from './enforce-retention.js';
export {
  DAY_MS,
  DEFAULT_EVENT_PARTITION,
  eventIdLowerBound,
  eventPartitionDay,
  eventPartitionName,
  utcDayStart,
} from './event-partitions.js';
export type { RetentionJob, RetentionJobOptions } from './retention-job.js';
export { createRetentionJob } from './retention-job.js';
