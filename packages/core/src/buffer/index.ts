export type {
  Batch,
  BoundedQueue,
  BoundedQueueOptions,
  DropReason,
  OfferResult,
  OverflowPolicy,
  TakeBatchOptions,
} from './bounded-queue.js';
export { createBoundedQueue, jsonByteLength, utf8ByteLength } from './bounded-queue.js';
export type { FlushPolicy, FlushPolicyOptions, FlushState, FlushTrigger } from './flush-policy.js';
export {
  DEFAULT_FLUSH_POLICY,
  nextFlushDueAtMs,
  resolveFlushPolicy,
  shouldFlush,
} from './flush-policy.js';
