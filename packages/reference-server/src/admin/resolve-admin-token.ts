import { generateSecretToken } from '@fieldline/server-sdk';
import { ServerStartError } from '../errors/server-start-error.js';
import { readPrivateFile, writePrivateFile } from '../files/private-files.js';

/** Shortest admin token accepted; generated ones are far longer. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Where the admin token came from. */
export type AdminTokenSource = 'option' | 'file' | 'generated';

/** The operator's admin token and its origin. */
export interface ResolvedAdminToken {
  /** The bearer token for `/v1/admin/*`. Secret. */
  readonly token: string;
  /** `option` (given, e.g. `FIELDLINE_ADMIN_TOKEN`), `file` (kept from an earlier start) or `generated` (new). */
  readonly source: AdminTokenSource;
}

/** Options of {@link resolveAdminToken}. */
export interface ResolveAdminTokenOptions {
  /** A token chosen by the operator; when set, the file is neither read nor written. */
  readonly token?: string;
  /** The file that keeps a generated token across restarts, e.g. `.fieldline/admin-token`. */
  readonly path: string;
}

function checkToken(token: string, where: string): string {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ServerStartError(
      'invalid_admin_token',
      `The admin token from ${where} must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without ` +
        'spaces; use a long random value (e.g. `openssl rand -base64 32`).',
    );
  }
  return token;
}

/**
 * Decides the operator's admin token: the given one, else the one kept in
 * `path`, else a new random token written to `path` (0600) so restarts keep it.
 *
 * @param options - the given token and the file.
 * @returns the token and where it came from; print it only when `source` is `generated`.
 * @throws {@link ServerStartError} `invalid_admin_token` for a short or blank token, or
 *   `insecure_file_permissions` when the file's mode is looser than 0600.
 * @example
 * ```ts
 * const admin = await resolveAdminToken({ token: process.env.FIELDLINE_ADMIN_TOKEN, path });
 * ```
 */
export async function resolveAdminToken(
  options: ResolveAdminTokenOptions,
): Promise<ResolvedAdminToken> {
  if (options.token !== undefined) {
    return { token: checkToken(options.token, 'FIELDLINE_ADMIN_TOKEN'), source: 'option' };
  }
  const stored = await readPrivateFile(options.path);
  if (stored !== undefined)
    return { token: checkToken(stored.trim(), options.path), source: 'file' };
  const token = generateSecretToken('fl_admin');
  try {
    await writePrivateFile(options.path, `${token}\n`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return resolveAdminToken(options);
  }
  return { token, source: 'generated' };
}
