import { FieldlineError, isFieldlineError } from '@fieldline/core';

/** Why the reference server refused to start. */
export type ServerStartErrorCode =
  | 'invalid_identity_file'
  | 'invalid_admin_token'
  | 'insecure_file_permissions'
  | 'invalid_option'
  | 'invalid_tls_files';

/**
 * Thrown by {@link startServer} when its files or options cannot be used
 * safely. The message says what to do; the CLI prints it and exits non-zero.
 *
 * @example
 * ```ts
 * try { await startServer({}); } catch (e) { if (isServerStartError(e)) console.error(e.message); }
 * ```
 */
export class ServerStartError extends FieldlineError<ServerStartErrorCode> {
  constructor(
    code: ServerStartErrorCode,
    message: string,
    options?: { readonly details?: Record<string, unknown>; readonly cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ServerStartError';
  }
}

const CODES: ReadonlySet<string> = new Set<ServerStartErrorCode>([
  'invalid_identity_file',
  'invalid_admin_token',
  'insecure_file_permissions',
  'invalid_option',
  'invalid_tls_files',
]);

/**
 * Narrows an unknown value to a {@link ServerStartError}.
 *
 * @param value - anything caught.
 * @returns true when `value` is a ServerStartError (from any copy of this package).
 */
export function isServerStartError(value: unknown): value is ServerStartError {
  return isFieldlineError(value) && value.name === 'ServerStartError' && CODES.has(value.code);
}
