import { lstat, open, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Reads a small text file, or `undefined` when it is gone or unreadable
 * (processes exit between listing and reading; that is normal, not an error).
 *
 * @param path - the file.
 * @returns its text, or `undefined`.
 * @internal
 */
export async function readTextOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Whether a file has any content, reading at most one byte (a `cmdline` can
 * be megabytes long; kernel threads have an empty one).
 *
 * @param path - the file.
 * @returns `true`/`false`, or `undefined` when it cannot be read.
 * @internal
 */
export async function hasContent(path: string): Promise<boolean | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, 0);
      return bytesRead > 0;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Lists the process ids under a proc root (`/proc/[0-9]*`), in ascending order.
 *
 * @param procRoot - usually `/proc`.
 * @returns the pids; empty when the directory cannot be read.
 * @internal
 */
export async function listPids(procRoot: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(procRoot);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    if (/^[1-9][0-9]*$/.test(name)) {
      const pid = Number(name);
      if (Number.isSafeInteger(pid) && pid <= 2 ** 31 - 1) pids.push(pid);
    }
  }
  return pids.sort((a, b) => a - b);
}

/** What a process's `stat` file says about where it comes from. @internal */
export interface ProcStat {
  /** The command name between the parentheses. */
  readonly comm: string;
  /** The parent's pid. */
  readonly ppid: number;
}

/**
 * Parses `/proc/<pid>/stat`. The command name may itself contain spaces and
 * parentheses, so the fields are read after the last `)`.
 *
 * @param text - the file's content.
 * @returns the name and parent pid, or `undefined` when malformed.
 * @internal
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(rest[1]);
  if (!Number.isInteger(ppid) || ppid < 0) return undefined;
  return { comm: text.slice(open + 1, close), ppid };
}

/**
 * The real user id of a process: the `Uid:` line of its `status` file, or the
 * owner of its directory when `status` cannot be read.
 *
 * @param procRoot - usually `/proc`.
 * @param pid - the process.
 * @returns the uid, or `undefined` when the process is gone.
 * @internal
 */
export async function readProcessUid(procRoot: string, pid: number): Promise<number | undefined> {
  const status = await readTextOrUndefined(join(procRoot, String(pid), 'status'));
  const match = status === undefined ? null : /^Uid:\s+(\d+)/m.exec(status);
  if (match?.[1] !== undefined) return Number(match[1]);
  try {
    return (await lstat(join(procRoot, String(pid)))).uid;
  } catch {
    return undefined;
  }
}

/**
 * The command name of a process (`/proc/<pid>/comm`, at most 15 characters).
 *
 * @param procRoot - usually `/proc`.
 * @param pid - the process.
 * @returns the trimmed name, or `undefined` when gone or empty.
 * @internal
 */
export async function readComm(procRoot: string, pid: number): Promise<string | undefined> {
  const text = await readTextOrUndefined(join(procRoot, String(pid), 'comm'));
  const comm = text?.replace(/\n$/, '').trim();
  return comm === undefined || comm === '' ? undefined : comm.slice(0, 256);
}

/**
 * The executable of a process (`/proc/<pid>/exe`). Other users' links are
 * unreadable without privileges; that is expected and gives `undefined`.
 *
 * @param procRoot - usually `/proc`.
 * @param pid - the process.
 * @returns the absolute path, without a ` (deleted)` suffix, or `undefined`.
 * @internal
 */
export async function readExecutablePath(
  procRoot: string,
  pid: number,
): Promise<string | undefined> {
  try {
    const target = (await readlink(join(procRoot, String(pid), 'exe'))).replace(
      / \(deleted\)$/,
      '',
    );
    return target.startsWith('/') && target.length <= 4096 ? target : undefined;
  } catch {
    return undefined;
  }
}
