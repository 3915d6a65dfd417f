import type { AuditCheckpoint } from './audit-checkpoint.js';

/**
 * Where audit checkpoints are kept, apart from the database: a local append-only
 * file ({@link createFileCheckpointSink}), or an outside store an integrator
 * plugs in (a WORM bucket, a log shipper, a transparency log). What makes a sink
 * worth having is that whoever can rewrite the database cannot also rewrite it.
 */
export interface AuditCheckpointSink {
  /**
   * Stores one checkpoint durably; resolves only once it is safe (flushed to disk, acknowledged).
   *
   * @param checkpoint - the signed checkpoint.
   * @throws the storage error; the checkpointer retries on its next tick.
   */
  append(checkpoint: AuditCheckpoint): Promise<void>;
  /**
   * The most recently appended record, as stored: untrusted (it is checked by
   * `parseAuditCheckpoint` before it counts). `undefined` when nothing was stored yet.
   *
   * @returns the record's parsed JSON, or `undefined`.
   * @throws the storage error, or an error when the newest record is not JSON.
   */
  latest(): Promise<unknown>;
}
