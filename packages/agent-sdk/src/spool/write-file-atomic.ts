import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isNotFound, spoolIoError } from './spool-error.js';
import {
  CREATE_EXCLUSIVE_FLAGS,
  nodeSpoolFileSystem,
  OPEN_DIRECTORY_FLAGS,
  type SpoolFileSystem,
} from './spool-file-system.js';

/** Prefix of every temporary file; `recover()` deletes what a crash left behind. */
export const TEMP_FILE_PREFIX = '.tmp-';

/**
 * Writes a file so that it is either absent or complete under its final name, even across a
 * power cut: temp file in the same directory, write, fsync the file, rename over the final
 * name, fsync the directory (so the rename itself is durable).
 *
 * @param directory - where the file goes; the temp file is made here too, so the rename never
 *   crosses file systems.
 * @param fileName - the final name (replaced if it exists).
 * @param bytes - the complete contents.
 * @param mode - permission bits of a newly created file (0o600 unless given).
 * @param fs - the file system to go through.
 * @returns when the file and its name are on disk.
 * @throws {@link SpoolError} `spool_io` on any file-system failure; the temp file is removed.
 * @example
 * ```ts
 * await writeFileAtomic(dir, '000001767225600000-000000-1a2b3c4d.spool', bytes);
 * ```
 * @internal
 */
export async function writeFileAtomic(
  directory: string,
  fileName: string,
  bytes: Uint8Array,
  mode = 0o600,
  fs: SpoolFileSystem = nodeSpoolFileSystem,
): Promise<void> {
  const tempPath = join(directory, `${TEMP_FILE_PREFIX}${randomBytes(6).toString('hex')}`);
  const finalPath = join(directory, fileName);
  try {
    // O_EXCL: never follow or reuse an existing file under the temp name.
    const handle = await fs.open(tempPath, CREATE_EXCLUSIVE_FLAGS, mode);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tempPath, finalPath);
  } catch (error) {
    await fs.unlink(tempPath).catch(() => undefined);
    throw spoolIoError(`write ${fileName}`, finalPath, error);
  }
  await syncDirectory(directory, fs);
}

/**
 * Flushes a directory's entries (creations, renames, deletions) to disk.
 *
 * @param directory - the directory to fsync.
 * @param fs - the file system to go through.
 * @returns when done.
 * @throws {@link SpoolError} `spool_io` when the directory cannot be opened or synced.
 * @internal
 */
export async function syncDirectory(
  directory: string,
  fs: SpoolFileSystem = nodeSpoolFileSystem,
): Promise<void> {
  // Windows cannot open a directory for fsync, and its renames are journaled by NTFS.
  if (process.platform === 'win32') return;
  try {
    const handle = await fs.open(directory, OPEN_DIRECTORY_FLAGS);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw spoolIoError('sync the spool directory', directory, error);
  }
}

/**
 * Deletes a file, treating "already gone" as success.
 *
 * @param path - the file to delete.
 * @param fs - the file system to go through.
 * @returns true when this call deleted it, false when it was already gone.
 * @throws {@link SpoolError} `spool_io` for any other failure.
 * @internal
 */
export async function unlinkIfPresent(
  path: string,
  fs: SpoolFileSystem = nodeSpoolFileSystem,
): Promise<boolean> {
  try {
    await fs.unlink(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw spoolIoError('delete a spool file', path, error);
  }
}
