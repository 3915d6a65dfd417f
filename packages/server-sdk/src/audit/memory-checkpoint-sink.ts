import type { AuditCheckpoint } from './audit-checkpoint.js';
import type { AuditCheckpointSink } from './audit-checkpoint-sink.js';

/** An in-memory {@link AuditCheckpointSink}, with what it holds readable. */
export interface MemoryCheckpointSink extends AuditCheckpointSink {
  /** Every checkpoint appended, oldest first. */
  readonly checkpoints: readonly AuditCheckpoint[];
}

/**
 * Keeps checkpoints in memory: for tests, and for embedders who forward them
 * elsewhere themselves. A restart forgets them, so it anchors nothing across restarts.
 *
 * @returns the sink.
 * @example
 * ```ts
 * const sink = createMemoryCheckpointSink();
 * const checkpointer = createAuditCheckpointer({ db, sink, identity });
 * ```
 */
export function createMemoryCheckpointSink(): MemoryCheckpointSink {
  const checkpoints: AuditCheckpoint[] = [];
  return {
    checkpoints,
    async append(checkpoint) {
      checkpoints.push(checkpoint);
    },
    async latest() {
      return checkpoints.at(-1);
    },
  };
}
