export {
  createFileSpool,
  DEFAULT_SPOOL_MAX_AGE_MS,
  DEFAULT_SPOOL_MAX_FILES_PER_RUN,
  DEFAULT_SPOOL_MAX_TOTAL_BYTES,
  type FileSpoolOptions,
} from './file-spool.js';
export { loadOrCreateSpoolKey } from './load-or-create-spool-key.js';
export type {
  Spool,
  SpoolDropCounts,
  SpoolEntry,
  SpoolEntryInput,
  SpoolEntryRef,
  SpoolEntryUpdate,
  SpoolFilterResult,
  SpoolKeyMismatch,
  SpoolRecoverResult,
  SpoolStats,
} from './spool.js';
export { isSpoolError, SpoolError, type SpoolErrorCode } from './spool-error.js';
export { SPOOL_KEY_BYTES, type SpoolEntryKind } from './spool-file-format.js';
export {
  nodeSpoolFileSystem,
  type SpoolDirEntry,
  type SpoolFileHandle,
  type SpoolFileStat,
  type SpoolFileSystem,
} from './spool-file-system.js';
