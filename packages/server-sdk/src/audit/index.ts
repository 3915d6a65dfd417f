export type { AppendAuditOptions } from './append-audit.js';
export { AUDIT_LOCK_KEY, appendAudit } from './append-audit.js';
export type { AuditCheckpoint, ParsedAuditCheckpoint } from './audit-checkpoint.js';
export {
  AUDIT_CHECKPOINT_DOMAIN,
  parseAuditCheckpoint,
  signAuditCheckpoint,
} from './audit-checkpoint.js';
export type { AuditCheckpointSink } from './audit-checkpoint-sink.js';
export type {
  AuditCheckpointer,
  AuditCheckpointerOptions,
  AuditCheckpointOutcome,
  AuditCheckpointState,
  AuditDivergence,
  AuditHead,
} from './audit-checkpointer.js';
export { createAuditCheckpointer } from './audit-checkpointer.js';
export type { AuditEntry, NewAuditEntry } from './audit-entry.js';
export type { AuditHashInput } from './audit-hash.js';
export { AUDIT_GENESIS_HASH, computeAuditHash } from './audit-hash.js';
export type { FileCheckpointSinkOptions } from './file-checkpoint-sink.js';
export { createFileCheckpointSink } from './file-checkpoint-sink.js';
export type { ListAuditOptions } from './list-audit.js';
export { listAudit, MAX_AUDIT_PAGE } from './list-audit.js';
export type { MemoryCheckpointSink } from './memory-checkpoint-sink.js';
export { createMemoryCheckpointSink } from './memory-checkpoint-sink.js';
export type { AuditVerifyResult, VerifyAuditLogOptions } from './verify-audit-log.js';
export { verifyAuditLog } from './verify-audit-log.js';
