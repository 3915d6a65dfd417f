import { FieldlineError, isFieldlineError } from '@fieldline/core';

/**
 * Why a spool operation failed.
 *
 * - `spool_key_invalid`: the spool key is not exactly 32 bytes (in options or in its key file).
 * - `spool_key_permissions`: the key file can be read by group or others; it is refused rather
 *   than used, because anyone who can read it can read every spooled batch.
 * - `spool_io`: the file system refused an operation (full disk, missing directory, permissions).
 * - `spool_entry_too_large`: one entry is larger than the spool's whole `maxTotalBytes`, so it
 *   could never be kept; nothing was written.
 * - `spool_key_mismatch`: the spool held entries written under another key (`spool.key` was
 *   lost and recreated, or damaged); they were moved, not deleted, to an `orphaned-*` folder
 *   (`details.directory`, `details.files`) and come back when the old key is restored.
 */
export type SpoolErrorCode =
  | 'spool_key_invalid'
  | 'spool_key_permissions'
  | 'spool_io'
  | 'spool_entry_too_large'
  | 'spool_key_mismatch';

/**
 * A spool failure. `write` rejects with it (the caller then counts the batch as dropped), and so
 * do `loadOrCreateSpoolKey` and the reading methods when the spool directory itself fails.
 * Corrupt or unreadable spool files are never reported this way: they are quarantined and
 * counted. The agent emits `spool_key_mismatch` on its `error` event.
 *
 * @example
 * ```ts
 * try {
 *   await spool.write({ kind: 'events', payload, itemCount: 12 });
 * } catch (error) {
 *   if (isSpoolError(error)) drops.spool_io += 12;
 * }
 * ```
 */
export class SpoolError extends FieldlineError<SpoolErrorCode> {
  /**
   * @param code - what failed.
   * @param message - a sentence a person can act on; never contains key material or payloads.
   * @param options - structured details (paths, sizes) and the underlying error.
   */
  constructor(
    code: SpoolErrorCode,
    message: string,
    options?: { readonly details?: Record<string, unknown>; readonly cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'SpoolError';
  }
}

const SPOOL_ERROR_CODES: ReadonlySet<string> = new Set<SpoolErrorCode>([
  'spool_key_invalid',
  'spool_key_permissions',
  'spool_io',
  'spool_entry_too_large',
  'spool_key_mismatch',
]);

/**
 * Narrows an unknown value to a {@link SpoolError}.
 *
 * @param value - anything caught or returned.
 * @returns true when `value` is a SpoolError (from any copy of this package).
 * @example
 * ```ts
 * if (isSpoolError(error) && error.code === 'spool_key_permissions') process.exitCode = 78;
 * ```
 */
export function isSpoolError(value: unknown): value is SpoolError {
  // Matched on name and code rather than instanceof so that an ESM and a CJS
  // copy of the package recognise each other's errors.
  return (
    isFieldlineError(value) && value.name === 'SpoolError' && SPOOL_ERROR_CODES.has(value.code)
  );
}

/**
 * Wraps a file-system failure in a `spool_io` {@link SpoolError}.
 *
 * @param action - what was being done, for the message ("write a spool file").
 * @param path - the file or directory involved.
 * @param cause - the error the file system raised.
 * @returns the error to throw or reject with.
 * @internal
 */
export function spoolIoError(action: string, path: string, cause: unknown): SpoolError {
  const code = (cause as { code?: unknown } | null)?.code;
  return new SpoolError(
    'spool_io',
    `Could not ${action} (${typeof code === 'string' ? code : 'I/O error'}): ${path}`,
    { details: { path, ...(typeof code === 'string' ? { errno: code } : {}) }, cause },
  );
}

/**
 * Whether a file-system error says the file is not there (it was already removed).
 *
 * @param error - anything caught from node:fs.
 * @returns true for `ENOENT`.
 * @internal
 */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}
