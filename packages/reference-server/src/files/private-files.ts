import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ServerStartError } from '../errors/server-start-error.js';

// POSIX permission bits only mean something off Windows.
const CHECK_MODES = process.platform !== 'win32';

/**
 * Creates `dir` (and its parents) owner-only (0700) if it does not exist.
 * An existing directory keeps its mode: the files inside are what hold secrets.
 *
 * @param dir - the directory.
 * @internal
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Reads a secret file, refusing one that group or others can read or write.
 *
 * @param path - the file.
 * @returns its text, or `undefined` when it does not exist.
 * @throws {@link ServerStartError} `insecure_file_permissions` when its mode is looser than 0600.
 * @internal
 */
export async function readPrivateFile(path: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (CHECK_MODES && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new ServerStartError(
      'insecure_file_permissions',
      `${path} has mode ${octal}, but it holds a secret and must be readable by its owner only. ` +
        `Run: chmod 600 ${path}`,
      { details: { path, mode: octal } },
    );
  }
  return readFile(path, 'utf8');
}

/**
 * Writes a new secret file with mode 0600. Fails if the file already exists,
 * so two servers starting on one data directory cannot overwrite each other's secret.
 *
 * @param path - the file to create.
 * @param text - its content.
 * @throws the `EEXIST` error when the file exists.
 * @internal
 */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600, flag: 'wx' });
  // The mode given to open() is reduced by the umask but never widened; chmod makes it exact.
  if (CHECK_MODES) await chmod(path, 0o600);
}

/**
 * Replaces a secret file atomically with mode 0600: a new file beside it, flushed to disk,
 * renamed over the target, and the directory flushed, so a crash leaves the old content or
 * the new one, never a mix.
 *
 * @param path - the file to write.
 * @param text - its new content.
 * @internal
 */
export async function replacePrivateFile(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (CHECK_MODES) await chmod(temp, 0o600);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
