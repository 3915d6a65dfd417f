import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Clock, InvalidArgumentError } from '@fieldline/core';
import { readUntrustedFile } from './read-untrusted-file.js';
import { reconcileSpoolKey } from './reconcile-spool-key.js';
import { createSerialQueue } from './serial-queue.js';
import type {
  Spool,
  SpoolEntry,
  SpoolEntryInput,
  SpoolEntryRef,
  SpoolEntryUpdate,
  SpoolFilterResult,
  SpoolKeyMismatch,
  SpoolRecoverResult,
  SpoolStats,
} from './spool.js';
import { SpoolError, spoolIoError } from './spool-error.js';
import {
  assertSpoolKey,
  decodeSpoolFile,
  describeInvalidHeader,
  encodeSpoolFile,
  parseSpoolFileHeader,
  SPOOL_HEADER_BYTES,
  SPOOL_MIN_FILE_BYTES,
  type SpoolFileHeader,
} from './spool-file-format.js';
import {
  nodeSpoolFileSystem,
  type SpoolDirEntry,
  type SpoolFileSystem,
} from './spool-file-system.js';
import { createSpoolQuarantine, type QuarantineReason } from './spool-quarantine.js';
import { TEMP_FILE_PREFIX, unlinkIfPresent, writeFileAtomic } from './write-file-atomic.js';

/** How long an entry may wait before trimming deletes it: 30 days. */
export const DEFAULT_SPOOL_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
/** The spool's default size cap: 100 MiB of files. */
export const DEFAULT_SPOOL_MAX_TOTAL_BYTES = 100 * 1024 * 1024;
/** How many entries one resend run takes by default. */
export const DEFAULT_SPOOL_MAX_FILES_PER_RUN = 20;

/** Options of {@link createFileSpool}. */
export interface FileSpoolOptions {
  /**
   * The spool's own directory, created with mode 0700 if missing. Nothing else should write
   * there: files the spool does not recognise are left alone but `.tmp-` files are deleted by
   * `recover()`.
   */
  readonly directory: string;
  /**
   * The 32-byte ChaCha20-Poly1305 key that encrypts every file (see `loadOrCreateSpoolKey`).
   * The spool keeps its own copy.
   */
  readonly key: Uint8Array;
  /** Time source for creation times and age trimming. */
  readonly clock: Clock;
  /**
   * Entries older than this are deleted (oldest first) and their items counted as
   * `spool_trimmed`.
   * @default 2_592_000_000 (30 days)
   */
  readonly maxAgeMs?: number;
  /**
   * While the files add up to more than this, the oldest are deleted and their items counted
   * as `spool_trimmed`.
   * @default 104_857_600 (100 MiB)
   */
  readonly maxTotalBytes?: number;
  /**
   * How many entries `takeOldest()` hands out when no limit is given, so one resend run after
   * an outage does not flood a recovering server.
   * @default 20
   */
  readonly maxFilesPerRun?: number;
  /**
   * The file system every operation goes through; a test injects faults here.
   * @default nodeSpoolFileSystem (node:fs)
   */
  readonly fileSystem?: SpoolFileSystem;
}

const FILE_SUFFIX = '.spool';
// <15-digit ms timestamp>-<6-digit sequence>-<8 hex random>: sorts by creation, and the random
// part keeps a second writer (a short-lived `fieldline-agent track`) from replacing a file.
const ENTRY_ID = /^\d{15}-\d{6}-[0-9a-f]{8}$/;
const MAX_SEQUENCE = 999_999;

/**
 * Creates the agent's encrypted on-disk spool in `options.directory`. Nothing touches the disk
 * until the first operation; call `recover()` at startup to clean up after a crash.
 *
 * Guarantees: an entry is on disk, complete and authenticated, once `write` resolves (temp file,
 * fsync, rename, directory fsync); a crash at any instant leaves either the whole entry or only a
 * `.tmp-` file that is ignored and deleted by `recover()`. Nothing found on disk can crash, hang
 * or stop the spool: every file is opened with O_NONBLOCK | O_NOFOLLOW and checked with fstat to
 * be a regular file; what cannot be used (corrupt, unreadable, or not a regular file under a
 * spool file's name) is moved to `quarantine/` and counted (`spool_corrupt`,
 * `spool_unreadable`, in files), never deleted silently, and the rest is still delivered.
 * Entries of another key (a lost or damaged `spool.key`) are never deleted: they are moved to an
 * `orphaned-*` folder, reported in `stats().keyMismatch`, and moved back when that key returns.
 * What trimming drops is counted in items. Deletions of delivered entries are not fsynced: a
 * deleted entry that reappears after a power cut is simply resent, and the server drops the
 * duplicates by event id.
 *
 * @param options - where, with which key and clock, and the caps.
 * @returns the spool.
 * @throws {@link SpoolError} `spool_key_invalid` when the key is not 32 bytes;
 *   `InvalidArgumentError` for a missing directory or clock or a cap that is not positive.
 * @example
 * ```ts
 * const key = await loadOrCreateSpoolKey(join(stateDir, 'spool.key'));
 * const spool = createFileSpool({ directory: join(stateDir, 'spool'), key, clock: systemClock });
 * await spool.recover();
 * await spool.write({ kind: 'events', payload: batchBytes, itemCount: 250 });
 * ```
 */
export function createFileSpool(options: FileSpoolOptions): Spool {
  const settings = resolveOptions(options);
  assertSpoolKey(options.key);
  const key = new Uint8Array(options.key);
  const { directory, clock, fs } = settings;
  const queue = createSerialQueue();
  const quarantine = createSpoolQuarantine(fs, directory);
  const drops = { spool_trimmed: 0, spool_corrupt: 0, spool_unreadable: 0 };
  // Names that could not even be quarantined: counted once, then left alone, so that a stuck
  // entry costs one failed rename per process, not one per operation.
  const ignored = new Set<string>();
  // Sorted by id (creation order); loaded from disk by the first operation.
  let index: SpoolEntryRef[] | undefined;
  let directoryReady = false;
  let keyReconciled = false;
  let keyMismatch: SpoolKeyMismatch | undefined;
  let adoptedFiles = 0;
  let lastTimestamp = -1;
  let lastSequence = -1;

  const pathOf = (id: string): string => join(directory, `${id}${FILE_SUFFIX}`);

  async function ensureDirectory(): Promise<void> {
    if (directoryReady) return;
    try {
      const created = await fs.mkdir(directory, 0o700);
      // mkdir's mode passes through the umask; make sure the spool itself is private.
      if (created) await fs.chmod(directory, 0o700);
    } catch (error) {
      throw spoolIoError('create the spool directory', directory, error);
    }
    directoryReady = true;
  }

  async function listDirectory(): Promise<SpoolDirEntry[]> {
    await ensureDirectory();
    try {
      return await fs.readdir(directory);
    } catch (error) {
      throw spoolIoError('read the spool directory', directory, error);
    }
  }

  /** Moves an entry the spool cannot use into quarantine and counts it, once. */
  async function setAside(name: string, reason: QuarantineReason): Promise<void> {
    if (ignored.has(name)) return;
    const outcome = await quarantine.move(name, reason, clock.now());
    if (outcome === 'gone') return;
    if (outcome === 'failed') ignored.add(name);
    if (reason === 'corrupt') drops.spool_corrupt += 1;
    else drops.spool_unreadable += 1;
  }

  async function readHeader(
    id: string,
  ): Promise<{ header: SpoolFileHeader; bytes: number } | QuarantineReason | 'missing'> {
    const read = await readUntrustedFile(fs, pathOf(id), SPOOL_HEADER_BYTES);
    if (read.status === 'missing') return 'missing';
    if (read.status !== 'ok') return 'unreadable';
    const header = parseSpoolFileHeader(read.bytes, read.size);
    return header.ok ? { header: header.value, bytes: read.size } : 'corrupt';
  }

  /** Rebuilds the index from the directory, setting aside what it cannot use. */
  async function rescan(): Promise<void> {
    await quarantine.load();
    const listing = await listDirectory();
    const ids: string[] = [];
    for (const entry of listing) {
      if (!entry.name.endsWith(FILE_SUFFIX)) continue;
      const id = entry.name.slice(0, -FILE_SUFFIX.length);
      if (!ENTRY_ID.test(id) || ignored.has(entry.name)) continue;
      // Checked from the listing before any open: a FIFO or a directory is never opened.
      if (entry.isFile()) ids.push(id);
      else await setAside(entry.name, 'unreadable');
    }
    ids.sort();
    if (!keyReconciled) {
      keyReconciled = true;
      const reconciled = await reconcileSpoolKey(fs, directory, key, ids, clock.now());
      adoptedFiles += reconciled.adoptedFiles;
      if (reconciled.orphanedDirectory !== undefined) {
        keyMismatch = Object.freeze({
          files: reconciled.orphanedFiles,
          directory: reconciled.orphanedDirectory,
        });
      }
      if (reconciled.orphanedFiles > 0 || reconciled.adoptedFiles > 0) return rescan();
    }
    const refs: SpoolEntryRef[] = [];
    for (const id of ids) {
      const read = await readHeader(id);
      if (read === 'missing') continue;
      if (read === 'corrupt' || read === 'unreadable') {
        await setAside(`${id}${FILE_SUFFIX}`, read);
        continue;
      }
      refs.push(Object.freeze({ id, ...read.header, bytes: read.bytes }));
    }
    index = refs;
    const newest = ids.at(-1);
    if (newest !== undefined) {
      const timestamp = Number(newest.slice(0, 15));
      const sequence = Number(newest.slice(16, 22));
      if (timestamp > lastTimestamp || (timestamp === lastTimestamp && sequence > lastSequence)) {
        lastTimestamp = timestamp;
        lastSequence = sequence;
      }
    }
  }

  async function loaded(): Promise<SpoolEntryRef[]> {
    if (index === undefined) await rescan();
    return index!;
  }

  /**
   * Brings a loaded index up to date with the directory: another process on the same state
   * directory (a one-shot `track` beside a live `run`) writes and removes entries too. Only new
   * names are opened, so a flush costs one listing plus the newcomers' headers.
   */
  async function refreshed(): Promise<SpoolEntryRef[]> {
    if (index === undefined) return loaded();
    const listing = await listDirectory();
    const onDisk = new Set<string>();
    const newcomers: string[] = [];
    const known = new Set(index.map((ref) => ref.id));
    for (const entry of listing) {
      if (!entry.name.endsWith(FILE_SUFFIX) || ignored.has(entry.name)) continue;
      const id = entry.name.slice(0, -FILE_SUFFIX.length);
      if (!ENTRY_ID.test(id)) continue;
      onDisk.add(id);
      if (known.has(id)) continue;
      if (entry.isFile()) newcomers.push(id);
      else await setAside(entry.name, 'unreadable');
    }
    for (const ref of [...index]) if (!onDisk.has(ref.id)) forget(ref.id);
    for (const id of newcomers.sort()) {
      const read = await readHeader(id);
      if (read === 'missing') continue;
      if (read === 'corrupt' || read === 'unreadable') {
        await setAside(`${id}${FILE_SUFFIX}`, read);
        continue;
      }
      replaceRef(Object.freeze({ id, ...read.header, bytes: read.bytes }));
    }
    return index;
  }

  function forget(id: string): void {
    if (index === undefined) return;
    const at = index.findIndex((ref) => ref.id === id);
    if (at >= 0) index.splice(at, 1);
  }

  function replaceRef(ref: SpoolEntryRef): void {
    if (index === undefined) return;
    const at = index.findIndex((existing) => existing.id === ref.id);
    if (at >= 0) {
      index[at] = ref;
      return;
    }
    index.push(ref);
    const last = index.at(-2);
    if (last !== undefined && last.id > ref.id) index.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  function nextId(nowMs: number): string {
    // Names stay in creation order even when the wall clock steps back.
    let timestamp = Math.max(nowMs, lastTimestamp);
    let sequence = timestamp === lastTimestamp ? lastSequence + 1 : 0;
    if (sequence > MAX_SEQUENCE) {
      timestamp += 1;
      sequence = 0;
    }
    lastTimestamp = timestamp;
    lastSequence = sequence;
    const random = randomBytes(4).toString('hex');
    return `${String(timestamp).padStart(15, '0')}-${String(sequence).padStart(6, '0')}-${random}`;
  }

  function checkFits(payload: Uint8Array): void {
    const bytes = SPOOL_MIN_FILE_BYTES + payload.length;
    if (bytes > settings.maxTotalBytes) {
      throw new SpoolError(
        'spool_entry_too_large',
        `A spool entry of ${bytes} bytes can never fit under maxTotalBytes (${settings.maxTotalBytes}).`,
        { details: { bytes, maxTotalBytes: settings.maxTotalBytes } },
      );
    }
  }

  async function store(
    id: string,
    header: SpoolFileHeader,
    payload: Uint8Array,
  ): Promise<SpoolEntryRef> {
    const file = encodeSpoolFile(header, payload, key);
    await writeFileAtomic(directory, `${id}${FILE_SUFFIX}`, file, 0o600, fs);
    const ref: SpoolEntryRef = Object.freeze({ id, ...header, bytes: file.length });
    replaceRef(ref);
    return ref;
  }

  /**
   * Deletes oldest-first past the caps, quarantined things before entries (they count toward
   * the size cap too); never throws (a failed delete is retried next time).
   */
  async function trim(): Promise<{ files: number; items: number }> {
    const refs = await loaded();
    const now = clock.now();
    let total = refs.reduce((sum, ref) => sum + ref.bytes, 0);
    total -= await quarantine.trim(
      now,
      settings.maxAgeMs,
      Math.max(0, total + quarantine.bytes() - settings.maxTotalBytes),
    );
    total += quarantine.bytes();
    let files = 0;
    let items = 0;
    for (const ref of [...refs]) {
      const expired = now - ref.createdAtMs > settings.maxAgeMs;
      if (!expired && total <= settings.maxTotalBytes) continue;
      let deleted: boolean;
      try {
        deleted = await unlinkIfPresent(pathOf(ref.id), fs);
      } catch {
        continue;
      }
      forget(ref.id);
      total -= ref.bytes;
      // A file someone else already deleted was not dropped by us; it is only forgotten.
      if (deleted) {
        files += 1;
        items += ref.itemCount;
      }
    }
    drops.spool_trimmed += items;
    return { files, items };
  }

  /** Reads and authenticates one entry; what cannot be used is set aside and forgotten. */
  async function readEntry(ref: SpoolEntryRef): Promise<SpoolEntry | undefined> {
    const read = await readUntrustedFile(fs, pathOf(ref.id));
    if (read.status !== 'ok') {
      if (read.status !== 'missing') await setAside(`${ref.id}${FILE_SUFFIX}`, 'unreadable');
      forget(ref.id);
      return undefined;
    }
    const opened = decodeSpoolFile(read.bytes, key);
    if (!opened.ok) {
      await setAside(`${ref.id}${FILE_SUFFIX}`, 'corrupt');
      forget(ref.id);
      return undefined;
    }
    const current: SpoolEntryRef = Object.freeze({
      id: ref.id,
      ...opened.value.header,
      bytes: read.bytes.length,
    });
    replaceRef(current);
    return {
      ref: current,
      kind: current.kind,
      payload: opened.value.payload,
      itemCount: current.itemCount,
    };
  }

  async function rewriteEntry(
    ref: SpoolEntryRef,
    payload: Uint8Array,
    itemCount: number,
  ): Promise<SpoolEntryRef> {
    checkFits(payload);
    return store(ref.id, { kind: ref.kind, createdAtMs: ref.createdAtMs, itemCount }, payload);
  }

  return {
    async write(entry: SpoolEntryInput): Promise<SpoolEntryRef> {
      checkPayload(entry.payload);
      checkItemCount(entry.itemCount);
      checkFits(entry.payload);
      const payload = new Uint8Array(entry.payload);
      return queue.run(async () => {
        await loaded();
        const header = {
          kind: entry.kind,
          createdAtMs: Math.floor(clock.now()),
          itemCount: entry.itemCount,
        };
        const problem = describeInvalidHeader(header);
        if (problem !== undefined) throw new InvalidArgumentError(`spool.write: ${problem}`);
        const ref = await store(nextId(header.createdAtMs), header, payload);
        await trim();
        return ref;
      });
    },

    list(): Promise<readonly SpoolEntryRef[]> {
      return queue.run(async () => [...(await refreshed())]);
    },

    async takeOldest(limit: number = settings.maxFilesPerRun): Promise<readonly SpoolEntry[]> {
      if (!Number.isInteger(limit) || limit < 0) {
        throw new InvalidArgumentError(`takeOldest(limit) needs an integer ≥ 0, got ${limit}.`);
      }
      return queue.run(async () => {
        await refreshed();
        await trim();
        const entries: SpoolEntry[] = [];
        for (const ref of [...(await loaded())]) {
          if (entries.length >= limit) break;
          const entry = await readEntry(ref);
          if (entry !== undefined) entries.push(entry);
        }
        return entries;
      });
    },

    async remove(ref: Pick<SpoolEntryRef, 'id'>): Promise<boolean> {
      checkId(ref.id);
      return queue.run(async () => {
        await loaded();
        const removed = await unlinkIfPresent(pathOf(ref.id), fs);
        forget(ref.id);
        return removed;
      });
    },

    async rewrite(
      ref: Pick<SpoolEntryRef, 'id'>,
      payload: Uint8Array,
      itemCount: number,
    ): Promise<SpoolEntryRef | undefined> {
      checkId(ref.id);
      checkPayload(payload);
      checkItemCount(itemCount);
      const copy = new Uint8Array(payload);
      return queue.run(async () => {
        const current = (await loaded()).find((existing) => existing.id === ref.id);
        if (current === undefined) return undefined;
        const updated = await rewriteEntry(current, copy, itemCount);
        await trim();
        return index?.includes(updated) ? updated : undefined;
      });
    },

    filterEntries(decide: (entry: SpoolEntry) => SpoolEntryUpdate): Promise<SpoolFilterResult> {
      return queue.run(async () => {
        const corruptBefore = drops.spool_corrupt;
        let kept = 0;
        let dropped = 0;
        let rewritten = 0;
        let removedItems = 0;
        for (const ref of [...(await loaded())]) {
          const entry = await readEntry(ref);
          if (entry === undefined) continue;
          const update = decide(entry);
          if (update === 'keep') {
            kept += 1;
          } else if (update === 'drop') {
            await unlinkIfPresent(pathOf(entry.ref.id), fs);
            forget(entry.ref.id);
            dropped += 1;
            removedItems += entry.itemCount;
          } else {
            checkPayload(update.payload);
            checkItemCount(update.itemCount);
            await rewriteEntry(entry.ref, update.payload, update.itemCount);
            rewritten += 1;
            removedItems += Math.max(0, entry.itemCount - update.itemCount);
          }
        }
        await trim();
        return {
          kept,
          dropped,
          rewritten,
          removedItems,
          corrupt: drops.spool_corrupt - corruptBefore,
        };
      });
    },

    stats(): SpoolStats {
      const refs = index ?? [];
      const oldest = refs.reduce<number | undefined>(
        (min, ref) => (min === undefined || ref.createdAtMs < min ? ref.createdAtMs : min),
        undefined,
      );
      return {
        files: refs.length,
        bytes: refs.reduce((sum, ref) => sum + ref.bytes, 0),
        ...(oldest === undefined ? {} : { oldestAtMs: oldest }),
        dropped: { ...drops },
        quarantine: { files: quarantine.files(), bytes: quarantine.bytes() },
        ...(keyMismatch === undefined ? {} : { keyMismatch }),
      };
    },

    recover(): Promise<SpoolRecoverResult> {
      return queue.run(async () => {
        let tempFilesRemoved = 0;
        for (const entry of await listDirectory()) {
          // Only regular files: a directory or FIFO under a temp name is not ours to touch.
          if (!entry.name.startsWith(TEMP_FILE_PREFIX) || !entry.isFile()) continue;
          try {
            if (await unlinkIfPresent(join(directory, entry.name), fs)) tempFilesRemoved += 1;
          } catch {
            // A temp file we may not delete is ignored like any other foreign file.
          }
        }
        const before = { ...drops };
        const adoptedBefore = adoptedFiles;
        const mismatchBefore = keyMismatch;
        await rescan();
        const trimmed = await trim();
        return {
          tempFilesRemoved,
          corruptQuarantined: drops.spool_corrupt - before.spool_corrupt,
          unreadableQuarantined: drops.spool_unreadable - before.spool_unreadable,
          orphanedFiles: keyMismatch === mismatchBefore ? 0 : (keyMismatch?.files ?? 0),
          adoptedFiles: adoptedFiles - adoptedBefore,
          trimmedFiles: trimmed.files,
          trimmedItems: trimmed.items,
        };
      });
    },
  };
}

function checkId(id: string): void {
  // Refs are ours, but an id reaches a file path: refuse anything that is not an entry name.
  if (typeof id !== 'string' || !ENTRY_ID.test(id)) {
    throw new InvalidArgumentError(`Not a spool entry id: ${JSON.stringify(id)}.`);
  }
}

function checkPayload(payload: unknown): void {
  if (!(payload instanceof Uint8Array)) {
    throw new InvalidArgumentError('A spool payload must be a Uint8Array.');
  }
}

function checkItemCount(itemCount: number): void {
  const problem = describeInvalidHeader({ kind: 'events', createdAtMs: 0, itemCount });
  if (problem !== undefined) throw new InvalidArgumentError(problem);
}

function resolveOptions(options: FileSpoolOptions) {
  if (typeof options.directory !== 'string' || options.directory.length === 0) {
    throw new InvalidArgumentError('createFileSpool needs a directory.');
  }
  if (typeof options.clock?.now !== 'function') {
    throw new InvalidArgumentError('createFileSpool needs a clock.');
  }
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_SPOOL_MAX_AGE_MS;
  const maxTotalBytes = options.maxTotalBytes ?? DEFAULT_SPOOL_MAX_TOTAL_BYTES;
  const maxFilesPerRun = options.maxFilesPerRun ?? DEFAULT_SPOOL_MAX_FILES_PER_RUN;
  if (!(maxAgeMs > 0)) throw new InvalidArgumentError(`maxAgeMs must be > 0, got ${maxAgeMs}.`);
  if (!(maxTotalBytes > 0)) {
    throw new InvalidArgumentError(`maxTotalBytes must be > 0, got ${maxTotalBytes}.`);
  }
  if (!Number.isInteger(maxFilesPerRun) || maxFilesPerRun < 1) {
    throw new InvalidArgumentError(`maxFilesPerRun must be an integer ≥ 1, got ${maxFilesPerRun}.`);
  }
  return {
    directory: options.directory,
    clock: options.clock,
    maxAgeMs,
    maxTotalBytes,
    maxFilesPerRun,
    fs: options.fileSystem ?? nodeSpoolFileSystem,
  };
}
