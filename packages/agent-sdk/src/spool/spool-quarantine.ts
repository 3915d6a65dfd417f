import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isNotFound } from './spool-error.js';
import type { SpoolFileSystem } from './spool-file-system.js';
import { syncDirectory } from './write-file-atomic.js';

/** The quarantine's folder inside the spool directory. */
export const QUARANTINE_DIRECTORY = 'quarantine';
/** At most this many things are kept in quarantine; the oldest go first. */
export const MAX_QUARANTINED_FILES = 100;

/**
 * Why something was moved out of the spool.
 *
 * - `corrupt`: a spool file that is truncated, altered or does not authenticate.
 * - `unreadable`: a spool file the agent may not read (`EACCES`, e.g. written by another user)
 *   or something that is not a regular file under a spool file's name (a directory, a FIFO,
 *   a symlink, a device).
 *
 * @internal
 */
export type QuarantineReason = 'corrupt' | 'unreadable';

interface Quarantined {
  readonly name: string;
  readonly atMs: number;
  readonly bytes: number;
}

// <15-digit ms>-<reason>-<8 hex>-<original name>
const QUARANTINED_NAME = /^(\d{15})-(corrupt|unreadable)-[0-9a-f]{8}-/;

/**
 * The spool's quarantine: entries it cannot use are moved to `quarantine/` rather than deleted,
 * so a person can look at them, and the quarantine is kept bounded (age, count and, through
 * the spool's trimming, bytes), its oldest contents deleted first.
 *
 * @internal
 */
export interface SpoolQuarantine {
  /**
   * Moves `name` (a file or anything else) from the spool directory into quarantine.
   *
   * @returns `moved`, `gone` when it had already disappeared, `failed` when it could not be
   *   moved (it then stays where it is; the caller ignores it from now on). Never rejects.
   */
  move(name: string, reason: QuarantineReason, nowMs: number): Promise<'moved' | 'gone' | 'failed'>;
  /** Reads what is already in quarantine (sizes and ages); never rejects. */
  load(): Promise<void>;
  /** Bytes held in quarantine. */
  bytes(): number;
  /** Things held in quarantine. */
  files(): number;
  /**
   * Deletes what is past the age or count cap, then, oldest first, enough to free `wantBytes`.
   *
   * @returns the bytes freed. Never rejects (a failed delete is retried next time).
   */
  trim(nowMs: number, maxAgeMs: number, wantBytes: number): Promise<number>;
}

/**
 * Creates the quarantine of the spool in `spoolDirectory`.
 *
 * @param fs - the file system.
 * @param spoolDirectory - the spool's directory; the quarantine is its `quarantine/` folder.
 * @returns the quarantine.
 * @internal
 */
export function createSpoolQuarantine(
  fs: SpoolFileSystem,
  spoolDirectory: string,
): SpoolQuarantine {
  const directory = join(spoolDirectory, QUARANTINE_DIRECTORY);
  let held: Quarantined[] = [];
  let ready = false;

  async function ensureDirectory(): Promise<boolean> {
    if (ready) return true;
    try {
      const info = await fs.lstat(directory).catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      if (info === undefined) {
        await fs.mkdir(directory, 0o700);
        await fs.chmod(directory, 0o700);
        await syncDirectory(spoolDirectory, fs);
      } else if (!info.isDirectory()) {
        return false;
      }
      ready = true;
      return true;
    } catch {
      return false;
    }
  }

  async function sizeOf(path: string): Promise<number> {
    try {
      return (await fs.lstat(path)).size;
    } catch {
      return 0;
    }
  }

  return {
    async move(name, reason, nowMs) {
      if (!(await ensureDirectory())) return 'failed';
      const stamp = String(Math.max(0, Math.floor(nowMs))).padStart(15, '0');
      const target = `${stamp}-${reason}-${randomBytes(4).toString('hex')}-${name}`;
      const from = join(spoolDirectory, name);
      const bytes = await sizeOf(from);
      try {
        await fs.rename(from, join(directory, target));
      } catch (error) {
        return isNotFound(error) ? 'gone' : 'failed';
      }
      held.push({ name: target, atMs: nowMs, bytes });
      // Best effort: if the move is lost to a power cut, the next start quarantines it again.
      await syncDirectory(directory, fs).catch(() => undefined);
      await syncDirectory(spoolDirectory, fs).catch(() => undefined);
      return 'moved';
    },

    async load() {
      let entries: Awaited<ReturnType<SpoolFileSystem['readdir']>>;
      try {
        entries = await fs.readdir(directory);
      } catch {
        held = [];
        return;
      }
      const found: Quarantined[] = [];
      for (const entry of entries) {
        const match = QUARANTINED_NAME.exec(entry.name);
        found.push({
          name: entry.name,
          atMs: match === null ? 0 : Number(match[1]),
          bytes: await sizeOf(join(directory, entry.name)),
        });
      }
      held = found.sort((a, b) => a.atMs - b.atMs || (a.name < b.name ? -1 : 1));
      ready = true;
    },

    bytes: () => held.reduce((sum, item) => sum + item.bytes, 0),
    files: () => held.length,

    async trim(nowMs, maxAgeMs, wantBytes) {
      let freed = 0;
      for (const item of [...held]) {
        const tooOld = nowMs - item.atMs > maxAgeMs;
        const tooMany = held.length > MAX_QUARANTINED_FILES;
        if (!tooOld && !tooMany && freed >= wantBytes) break;
        try {
          await fs.remove(join(directory, item.name));
        } catch {
          continue;
        }
        held.splice(held.indexOf(item), 1);
        freed += item.bytes;
      }
      return freed;
    },
  };
}
