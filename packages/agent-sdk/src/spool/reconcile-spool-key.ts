import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { readUntrustedFile } from './read-untrusted-file.js';
import { decodeSpoolFile } from './spool-file-format.js';
import type { SpoolFileSystem } from './spool-file-system.js';
import { syncDirectory, writeFileAtomic } from './write-file-atomic.js';

/** The file in the spool directory that names (without revealing) the key of its entries. */
export const KEY_CHECK_FILE = 'key-check';
/** Prefix of the folders that keep entries written under another key. */
export const ORPHANED_PREFIX = 'orphaned-';

const ENTRY_FILE = /^\d{15}-\d{6}-[0-9a-f]{8}\.spool$/;

/**
 * The key's check value: HMAC-SHA256 of a fixed label under the key. It tells whether files
 * were written under this key without decrypting them, and reveals nothing about the key.
 *
 * @param key - the 32-byte spool key.
 * @returns 32 bytes.
 * @internal
 */
export function spoolKeyCheck(key: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update('fieldline spool key check v1').digest());
}

/** What {@link reconcileSpoolKey} did. @internal */
export interface SpoolKeyReconciliation {
  /** Entries moved aside because they were written under another key. */
  readonly orphanedFiles: number;
  /** Where they went (absent when nothing was moved). */
  readonly orphanedDirectory?: string;
  /** Entries moved back from an `orphaned-*` folder because they belong to this key. */
  readonly adoptedFiles: number;
}

/**
 * Makes sure the spool directory only holds entries of `key`, without ever deleting one.
 *
 * When the key does not match the directory's `key-check` (the key file was lost and recreated,
 * or damaged) and none of the readable entries opens under it, every readable entry and the old
 * `key-check` are moved to a new `orphaned-<time>-<random>/` folder: they cannot be read without
 * the old key, and are kept for when it comes back. Conversely, every `orphaned-*` folder whose
 * `key-check` matches `key` (its key was restored) is moved back into the spool. A `key-check`
 * that is missing or damaged while the entries open under the key is simply rewritten.
 *
 * @param fs - the file system.
 * @param directory - the spool directory.
 * @param key - the spool key in use.
 * @param entryIds - the spool entries found (ids, oldest first).
 * @param nowMs - the time, for the orphaned folder's name.
 * @returns what was moved. Never rejects for what it finds on disk; a failure to move leaves
 *   things where they are (the spool then quarantines what it cannot open).
 * @internal
 */
export async function reconcileSpoolKey(
  fs: SpoolFileSystem,
  directory: string,
  key: Uint8Array,
  entryIds: readonly string[],
  nowMs: number,
): Promise<SpoolKeyReconciliation> {
  const expected = spoolKeyCheck(key);
  const stored = await readUntrustedFile(fs, join(directory, KEY_CHECK_FILE), 64);
  const matches = stored.status === 'ok' && sameBytes(stored.bytes, expected);
  let orphanedFiles = 0;
  let orphanedDirectory: string | undefined;
  if (!matches && entryIds.length > 0) {
    const foreign: string[] = [];
    let opens = false;
    for (const id of entryIds) {
      const read = await readUntrustedFile(fs, join(directory, `${id}.spool`));
      if (read.status !== 'ok') continue;
      if (decodeSpoolFile(read.bytes, key).ok) {
        opens = true;
        break;
      }
      foreign.push(`${id}.spool`);
    }
    if (!opens && foreign.length > 0) {
      const stamp = String(Math.max(0, Math.floor(nowMs))).padStart(15, '0');
      const name = `${ORPHANED_PREFIX}${stamp}-${randomBytes(4).toString('hex')}`;
      const moved = await moveInto(fs, directory, join(directory, name), [
        ...(stored.status === 'ok' ? [KEY_CHECK_FILE] : []),
        ...foreign,
      ]);
      orphanedFiles = moved.filter((file) => file !== KEY_CHECK_FILE).length;
      if (moved.length > 0) orphanedDirectory = join(directory, name);
    }
  }
  if (!matches) {
    // Best effort: without it the next start decides again by trying to open the entries.
    await writeFileAtomic(directory, KEY_CHECK_FILE, expected, 0o600, fs).catch(() => undefined);
  }
  const adoptedFiles = await adoptOrphans(fs, directory, key, expected);
  return {
    orphanedFiles,
    adoptedFiles,
    ...(orphanedDirectory === undefined ? {} : { orphanedDirectory }),
  };
}

/** Moves entries of this key back from `orphaned-*` folders; returns how many. */
async function adoptOrphans(
  fs: SpoolFileSystem,
  directory: string,
  key: Uint8Array,
  expected: Uint8Array,
): Promise<number> {
  let adopted = 0;
  let listing: Awaited<ReturnType<SpoolFileSystem['readdir']>>;
  try {
    listing = await fs.readdir(directory);
  } catch {
    return 0;
  }
  for (const folder of listing) {
    if (!folder.isDirectory() || !folder.name.startsWith(ORPHANED_PREFIX)) continue;
    const path = join(directory, folder.name);
    let inside: Awaited<ReturnType<SpoolFileSystem['readdir']>>;
    try {
      inside = await fs.readdir(path);
    } catch {
      continue;
    }
    const entries = inside.filter((item) => item.isFile() && ENTRY_FILE.test(item.name));
    const check = await readUntrustedFile(fs, join(path, KEY_CHECK_FILE), 64);
    let ours = check.status === 'ok' && sameBytes(check.bytes, expected);
    if (!ours && check.status === 'missing' && entries[0] !== undefined) {
      const first = await readUntrustedFile(fs, join(path, entries[0].name));
      ours = first.status === 'ok' && decodeSpoolFile(first.bytes, key).ok;
    }
    if (!ours) continue;
    const moved = await moveInto(
      fs,
      path,
      directory,
      entries.map((entry) => entry.name),
    );
    adopted += moved.length;
    if (moved.length === entries.length) {
      await fs.unlink(join(path, KEY_CHECK_FILE)).catch(() => undefined);
      await fs.rmdir(path).catch(() => undefined);
      await syncDirectory(directory, fs).catch(() => undefined);
    }
  }
  return adopted;
}

/** Moves the named files from `from` into `to` (created 0700); returns those moved. */
async function moveInto(
  fs: SpoolFileSystem,
  from: string,
  to: string,
  names: readonly string[],
): Promise<string[]> {
  try {
    await fs.mkdir(to, 0o700);
  } catch {
    return [];
  }
  const moved: string[] = [];
  for (const name of names) {
    try {
      await fs.rename(join(from, name), join(to, name));
      moved.push(name);
    } catch {
      // Left where it is: the spool quarantines what it cannot open.
    }
  }
  // Both sides, so that no power cut can make a file vanish from one before it is in the other.
  await syncDirectory(to, fs).catch(() => undefined);
  await syncDirectory(from, fs).catch(() => undefined);
  return moved;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
