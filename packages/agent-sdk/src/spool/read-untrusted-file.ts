import { isNotFound } from './spool-error.js';
import { READ_UNTRUSTED_FLAGS, type SpoolFileSystem } from './spool-file-system.js';

/**
 * What reading a file found in the spool directory came to. Never an exception: whatever is on
 * disk, the caller decides what to do with it.
 *
 * - `ok`: a regular file, read (whole, or its first `limit` bytes) with its size.
 * - `missing`: gone (removed since the listing).
 * - `not_regular`: a directory, FIFO, socket, device or symlink under a file's name.
 * - `unreadable`: the open or read failed (`EACCES`, `EIO`…); `errno` says how.
 *
 * @internal
 */
export type UntrustedRead =
  | { readonly status: 'ok'; readonly bytes: Uint8Array; readonly size: number }
  | { readonly status: 'missing' }
  | { readonly status: 'not_regular' }
  | { readonly status: 'unreadable'; readonly errno: string };

/**
 * Reads a file that anyone with access to the directory may have replaced: opened with
 * O_NONBLOCK | O_NOFOLLOW (a FIFO cannot hang the open, a symlink is not followed) and checked
 * with fstat to be a regular file before a single byte is read, so a directory or device is
 * refused, never read.
 *
 * @param fs - the file system.
 * @param path - the file.
 * @param limit - read at most this many bytes from the start (the whole file when absent).
 * @returns what was found.
 * @internal
 */
export async function readUntrustedFile(
  fs: SpoolFileSystem,
  path: string,
  limit?: number,
): Promise<UntrustedRead> {
  let handle: Awaited<ReturnType<SpoolFileSystem['open']>>;
  try {
    handle = await fs.open(path, READ_UNTRUSTED_FLAGS);
  } catch (error) {
    if (isNotFound(error)) return { status: 'missing' };
    // ELOOP is what O_NOFOLLOW answers for a symlink; EISDIR/ENXIO for things that are no file.
    const errno = errnoOf(error);
    if (errno === 'ELOOP' || errno === 'EISDIR' || errno === 'ENXIO') {
      return { status: 'not_regular' };
    }
    return { status: 'unreadable', errno };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { status: 'not_regular' };
    const wanted = limit === undefined ? info.size : Math.min(limit, info.size);
    const bytes = new Uint8Array(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await handle.read(bytes, filled, wanted - filled, filled);
      // The file shrank under us: what is there is what is returned, and fails to authenticate.
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { status: 'ok', bytes: bytes.subarray(0, filled), size: info.size };
  } catch (error) {
    return { status: 'unreadable', errno: errnoOf(error) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function errnoOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}
