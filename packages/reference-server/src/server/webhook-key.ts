import { randomBytes } from 'node:crypto';
import { ServerStartError } from '../errors/server-start-error.js';
import { readPrivateFile, writePrivateFile } from '../files/private-files.js';

/** Options of {@link resolveWebhookKey}. */
export interface ResolveWebhookKeyOptions {
  /** The key as base64 (e.g. `FIELDLINE_WEBHOOK_KEY`); when set, the file is not used. */
  readonly key?: string;
  /** The file that keeps a generated key, e.g. `.fieldline/webhook-secret.key` (0600). */
  readonly path: string;
}

function decode(text: string, where: string): Uint8Array {
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length !== 32) {
    throw new ServerStartError(
      'invalid_option',
      `The webhook key from ${where} must be 32 bytes as base64 (e.g. \`openssl rand -base64 32\`).`,
    );
  }
  return new Uint8Array(bytes);
}

/**
 * Decides the key webhook secrets are encrypted under: the given one, else the one kept in
 * `path`, else 32 new random bytes written there (0600) so restarts can still open the secrets.
 *
 * @param options - the given key and the file.
 * @returns the 32-byte key.
 * @throws {@link ServerStartError} `invalid_option` for a key that is not 32 bytes, or
 *   `insecure_file_permissions` when the file's mode is looser than 0600.
 * @example
 * ```ts
 * const key = await resolveWebhookKey({ key: process.env.FIELDLINE_WEBHOOK_KEY, path });
 * ```
 */
export async function resolveWebhookKey(options: ResolveWebhookKeyOptions): Promise<Uint8Array> {
  if (options.key !== undefined) return decode(options.key, 'FIELDLINE_WEBHOOK_KEY');
  const stored = await readPrivateFile(options.path);
  if (stored !== undefined) return decode(stored, options.path);
  const key = randomBytes(32);
  try {
    await writePrivateFile(options.path, `${key.toString('base64')}\n`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return resolveWebhookKey(options);
  }
  return new Uint8Array(key);
}
