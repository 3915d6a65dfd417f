import { open, stat, unlink } from 'node:fs/promises';

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /**
   * A lock file older than this is left over by a process that died holding it, and is broken.
   * @default 5_000
   */
  readonly staleMs?: number;
  /**
   * How long to wait for the lock before running without it: a status write must never hang
   * on another process.
   * @default 2_000
   */
  readonly maxWaitMs?: number;
}

const RETRY_MS = 10;

async function tryCreate(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > staleMs;
  } catch {
    // Released meanwhile: try again.
    return false;
  }
}

/**
 * Runs `fn` while holding an exclusive lock file (created with `O_EXCL`), so that processes
 * sharing a state directory (a long-running agent and one-shot commands) can read a file,
 * decide, and replace it without another writer slipping in between. Best effort by design:
 * a lock held past `staleMs` is broken, and after `maxWaitMs` `fn` runs without it; a lock
 * that cannot be created at all (read-only directory) does not stop `fn` either.
 *
 * @param path - the lock file, e.g. `status.json.lock`.
 * @param fn - the work to do under the lock.
 * @param options - stale age and wait bound.
 * @returns what `fn` returned.
 * @example
 * ```ts
 * await withFileLock(`${statusPath}.lock`, () => writeStatus());
 * ```
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const staleMs = options.staleMs ?? 5_000;
  const deadline = Date.now() + (options.maxWaitMs ?? 2_000);
  let held = false;
  try {
    while (!held && Date.now() < deadline) {
      held = await tryCreate(path);
      if (held) break;
      if (await isStale(path, staleMs)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  } catch {
    held = false;
  }
  try {
    return await fn();
  } finally {
    if (held) await unlink(path).catch(() => undefined);
  }
}
