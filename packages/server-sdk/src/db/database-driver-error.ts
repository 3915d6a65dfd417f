import { FieldlineError, isFieldlineError } from '@fieldline/core';

/** Codes of {@link DatabaseDriverError}. */
export type DatabaseDriverErrorCode = 'driver_missing';

/**
 * The database driver the chosen database needs is not installed: `pg` for
 * PostgreSQL (`createDatabase({ connectionString })`, `createPostgresBus`),
 * PGlite for the embedded database (`createDatabase({ dataDir })`). Both are
 * optional peer dependencies of `@fieldline/server-sdk`, so an app installs
 * only the one it uses; the message names the `npm install` to run.
 * `details.driver` is the package name, `details.install` the command, and
 * `cause` the loader's own error.
 */
export class DatabaseDriverError extends FieldlineError<DatabaseDriverErrorCode> {
  override readonly name = 'DatabaseDriverError';
}

/**
 * Narrows an unknown value to a {@link DatabaseDriverError}.
 *
 * @param value - anything caught or returned.
 * @returns true for a `driver_missing` error (from any copy of this package).
 * @example
 * ```ts
 * try {
 *   await createDatabase({ connectionString });
 * } catch (error) {
 *   if (isDatabaseDriverError(error)) console.error(error.message); // "… npm install pg"
 * }
 * ```
 */
export function isDatabaseDriverError(value: unknown): value is DatabaseDriverError {
  return isFieldlineError(value) && value.code === 'driver_missing';
}
