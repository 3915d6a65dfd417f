export type { AppendAuditOptions } from './append-audit.js';
export { AUDIT_LOCK_KEY, appendAudit } from './append-audit.js';
export type { AuditEntry, NewAuditEntry } from './audit-entry.js';
export type { AuditHashInput } from './audit-hash.js';
export { AUDIT_GENESIS_HASH, computeAuditHash } from './audit-hash.js';
export type { ListAuditOptions } from './list-audit.js';
export { listAudit, MAX_AUDIT_PAGE } from './list-audit.js';
export type { AuditVerifyResult, VerifyAuditLogOptions } from './verify-audit-log.js';
export { verifyAuditLog } from './verify-audit-log.js';
