import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isNotFound, SpoolError, spoolIoError } from './spool-error.js';
import { SPOOL_KEY_BYTES } from './spool-file-format.js';
import { syncDirectory, TEMP_FILE_PREFIX } from './write-file-atomic.js';

/**
 * Reads the spool key from `path`, or creates it there (32 random bytes, mode 0600) when the
 * file does not exist. Creation is atomic and race-free: the key is written and fsynced under a
 * temporary name, then hard-linked to `path`, which fails if another process got there first,
 * in which case that process's key is read and used. The file holds the raw 32 bytes.
 *
 * @param path - the key file, normally inside the agent's state directory. A missing parent
 *   directory is created with mode 0700.
 * @returns the 32-byte key.
 * @throws {@link SpoolError} `spool_key_permissions` when the file grants any permission to
 *   group or others (checked on POSIX systems; fix it with `chmod 600`), `spool_key_invalid`
 *   when it does not hold exactly 32 bytes, `spool_io` when it cannot be read or created.
 * @example
 * ```ts
 * const key = await loadOrCreateSpoolKey(join(stateDir, 'spool.key'));
 * const spool = createFileSpool({ directory: join(stateDir, 'spool'), key, clock: systemClock });
 * ```
 */
export async function loadOrCreateSpoolKey(path: string): Promise<Uint8Array> {
  const existing = await readKeyFile(path);
  if (existing !== undefined) return existing;
  const directory = dirname(path);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw spoolIoError('create the key directory', directory, error);
  }
  const tempPath = join(
    directory,
    `${TEMP_FILE_PREFIX}${basename(path)}-${randomBytes(6).toString('hex')}`,
  );
  try {
    const handle = await open(tempPath, 'wx', 0o600);
    try {
      await handle.writeFile(randomBytes(SPOOL_KEY_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tempPath, path);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
  } catch (error) {
    throw spoolIoError('create the spool key', path, error);
  } finally {
    await unlink(tempPath).catch(() => undefined);
  }
  await syncDirectory(directory);
  // Read back rather than return our bytes: if another process linked its key first, that
  // key is the one every later run will load.
  const created = await readKeyFile(path);
  if (created === undefined) {
    throw new SpoolError('spool_io', `The spool key vanished right after creation: ${path}`, {
      details: { path },
    });
  }
  return created;
}

async function readKeyFile(path: string): Promise<Uint8Array | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
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
    const bytes = await handle.readFile();
    if (bytes.length !== SPOOL_KEY_BYTES) {
      throw new SpoolError(
        'spool_key_invalid',
        `The spool key ${path} must hold exactly ${SPOOL_KEY_BYTES} bytes.`,
        { details: { path, bytes: bytes.length } },
      );
    }
    return new Uint8Array(bytes);
  } catch (error) {
    if (error instanceof SpoolError) throw error;
    throw spoolIoError('read the spool key', path, error);
  } finally {
    await handle.close();
  }
}
