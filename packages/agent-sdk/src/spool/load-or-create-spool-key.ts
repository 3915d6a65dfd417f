import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isNotFound, SpoolError, spoolIoError } from './spool-error.js';
import { SPOOL_KEY_BYTES } from './spool-file-format.js';
import {
  CREATE_EXCLUSIVE_FLAGS,
  nodeSpoolFileSystem,
  type SpoolFileHandle,
  type SpoolFileSystem,
} from './spool-file-system.js';
import { syncDirectory, TEMP_FILE_PREFIX } from './write-file-atomic.js';

/**
 * Reads the spool key from `path`, or creates it there (32 random bytes, mode 0600) when the
 * file does not exist. Creation is atomic and race-free: the key is written and fsynced under a
 * temporary name, then hard-linked to `path`, which fails if another process got there first,
 * in which case that process's key is read and used. The file holds the raw 32 bytes.
 *
 * A lost key is simply recreated here; the spool then finds its entries were written under
 * another key and moves them aside rather than deleting them (see `createFileSpool`).
 *
 * @param path - the key file, normally inside the agent's state directory. A missing parent
 *   directory is created with mode 0700.
 * @param fs - the file system to go through.
 * @returns the 32-byte key.
 * @throws {@link SpoolError} `spool_key_permissions` when the file grants any permission to
 *   group or others (checked on POSIX systems; fix it with `chmod 600`), `spool_key_invalid`
 *   when it does not hold exactly 32 bytes or is not a regular file (it is never replaced then),
 *   `spool_io` when it cannot be read or created.
 * @example
 * ```ts
 * const key = await loadOrCreateSpoolKey(join(stateDir, 'spool.key'));
 * const spool = createFileSpool({ directory: join(stateDir, 'spool'), key, clock: systemClock });
 * ```
 */
export async function loadOrCreateSpoolKey(
  path: string,
  fs: SpoolFileSystem = nodeSpoolFileSystem,
): Promise<Uint8Array> {
  const existing = await readKeyFile(path, fs);
  if (existing !== undefined) return existing;
  const directory = dirname(path);
  try {
    await fs.mkdir(directory, 0o700);
  } catch (error) {
    throw spoolIoError('create the key directory', directory, error);
  }
  const tempPath = join(
    directory,
    `${TEMP_FILE_PREFIX}${basename(path)}-${randomBytes(6).toString('hex')}`,
  );
  try {
    const handle = await fs.open(tempPath, CREATE_EXCLUSIVE_FLAGS, 0o600);
    try {
      await handle.writeFile(randomBytes(SPOOL_KEY_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.link(tempPath, path);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
  } catch (error) {
    throw spoolIoError('create the spool key', path, error);
  } finally {
    await fs.unlink(tempPath).catch(() => undefined);
  }
  await syncDirectory(directory, fs);
  // Read back rather than return our bytes: if another process linked its key first, that
  // key is the one every later run will load.
  const created = await readKeyFile(path, fs);
  if (created === undefined) {
    throw new SpoolError('spool_io', `The spool key vanished right after creation: ${path}`, {
      details: { path },
    });
  }
  return created;
}

async function readKeyFile(path: string, fs: SpoolFileSystem): Promise<Uint8Array | undefined> {
  let handle: SpoolFileHandle;
  try {
    // O_NONBLOCK: a FIFO under the key's name must not hang the agent (it is refused below).
    handle = await fs.open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw spoolIoError('open the spool key', path, error);
  }
  try {
    const info = await handle.stat();
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new SpoolError(
        'spool_key_permissions',
        `The spool key ${path} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it.`,
        { details: { path, mode: info.mode & 0o777 } },
      );
    }
    if (!info.isFile() || info.size !== SPOOL_KEY_BYTES) {
      throw new SpoolError(
        'spool_key_invalid',
        `The spool key ${path} must hold exactly ${SPOOL_KEY_BYTES} bytes.`,
        { details: { path, bytes: info.size } },
      );
    }
    const bytes = new Uint8Array(SPOOL_KEY_BYTES);
    const { bytesRead } = await handle.read(bytes, 0, SPOOL_KEY_BYTES, 0);
    if (bytesRead !== SPOOL_KEY_BYTES) {
      throw new SpoolError(
        'spool_key_invalid',
        `The spool key ${path} must hold exactly ${SPOOL_KEY_BYTES} bytes.`,
        { details: { path, bytes: bytesRead } },
      );
    }
    return bytes;
  } catch (error) {
    if (error instanceof SpoolError) throw error;
    throw spoolIoError('read the spool key', path, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
