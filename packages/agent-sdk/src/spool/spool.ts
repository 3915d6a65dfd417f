import type { SpoolEntryKind } from './spool-file-format.js';

/** What the agent hands to {@link Spool.write}. */
export interface SpoolEntryInput {
  /** What the payload holds: an event batch or a job report. */
  readonly kind: SpoolEntryKind;
  /**
   * The plaintext to keep, as the agent will want it back (e.g. batch JSON). It is sealed for
   * the server only when resent, because sealed frames carry a timestamp the server accepts
   * within ±60 s.
   */
  readonly payload: Uint8Array;
  /** How many events (or reports) the payload holds; what is counted if it is ever trimmed. */
  readonly itemCount: number;
}

/** A spooled entry, as listed: its metadata without the payload. */
export interface SpoolEntryRef {
  /** The entry's file name without `.spool`; ids sort in creation order. */
  readonly id: string;
  /** What the payload holds. */
  readonly kind: SpoolEntryKind;
  /** Size of the file on disk (header, ciphertext and tag). */
  readonly bytes: number;
  /** How many items the payload holds. */
  readonly itemCount: number;
  /** When the entry was first written (kept across rewrites), ms since the epoch. */
  readonly createdAtMs: number;
}

/** A spooled entry, authenticated and decrypted. */
export interface SpoolEntry {
  /** Its metadata, to pass back to `remove` or `rewrite`. */
  readonly ref: SpoolEntryRef;
  /** What the payload holds. */
  readonly kind: SpoolEntryKind;
  /** The plaintext given to `write` (or to the last `rewrite`). */
  readonly payload: Uint8Array;
  /** How many items the payload holds. */
  readonly itemCount: number;
}

/**
 * What a {@link Spool.filterEntries} callback decides for one entry:
 * `'keep'` leaves it as it is, `'drop'` deletes it, and `{ payload, itemCount }` replaces its
 * contents atomically (same id, kind and creation time, so it keeps its place in the order).
 */
export type SpoolEntryUpdate =
  | 'keep'
  | 'drop'
  | { readonly payload: Uint8Array; readonly itemCount: number };

/** What one {@link Spool.filterEntries} pass did. */
export interface SpoolFilterResult {
  /** Entries left unchanged. */
  readonly kept: number;
  /** Entries deleted because the callback said `'drop'`. */
  readonly dropped: number;
  /** Entries whose contents were replaced. */
  readonly rewritten: number;
  /**
   * Items removed by this pass: every item of a dropped entry plus, for a rewritten one, how
   * many fewer items it now holds. The caller counts them under its own reason (e.g. consent
   * withdrawn); they are not added to `spool_trimmed`.
   */
  readonly removedItems: number;
  /** Corrupt files found, quarantined and counted on the way. */
  readonly corrupt: number;
}

/** What {@link Spool.recover} cleaned up. */
export interface SpoolRecoverResult {
  /** Leftover `.tmp-` files (writes a crash interrupted) deleted. */
  readonly tempFilesRemoved: number;
  /** Files with an unreadable header moved to `quarantine/` (counted as `spool_corrupt`). */
  readonly corruptQuarantined: number;
  /**
   * Entries the agent may not read, or that are not regular files, moved to `quarantine/`
   * (counted as `spool_unreadable`).
   */
  readonly unreadableQuarantined: number;
  /** Entries of another spool key moved to an `orphaned-*` folder (see `stats().keyMismatch`). */
  readonly orphanedFiles: number;
  /** Entries moved back from an `orphaned-*` folder because their key is in use again. */
  readonly adoptedFiles: number;
  /** Files deleted by age or size trimming. */
  readonly trimmedFiles: number;
  /** Items in those files (added to `spool_trimmed`). */
  readonly trimmedItems: number;
}

/** What the spool has dropped since it was created, by reason. */
export interface SpoolDropCounts {
  /** ITEMS (not files) deleted by age or total-size trimming: report them to the server. */
  readonly spool_trimmed: number;
  /**
   * FILES (their item count cannot be trusted) that were truncated, altered or failed to
   * authenticate, moved to `quarantine/`.
   */
  readonly spool_corrupt: number;
  /**
   * FILES the agent could not read (`EACCES`, I/O errors) or that are not regular files under a
   * spool file's name (a directory, FIFO, symlink or device), moved to `quarantine/` (or, when
   * even that failed, left in place and ignored).
   */
  readonly spool_unreadable: number;
}

/**
 * Entries found under another key at startup: `spool.key` was lost and recreated, or damaged.
 * They were moved, never deleted, to `directory`; restoring the old `spool.key` and restarting
 * brings them back.
 */
export interface SpoolKeyMismatch {
  /** How many entries were moved aside. */
  readonly files: number;
  /** Where they are (an `orphaned-<time>-<random>` folder of the spool directory). */
  readonly directory: string;
}

/** A snapshot of the spool. */
export interface SpoolStats {
  /** Entries on disk. */
  readonly files: number;
  /** Their total size on disk. */
  readonly bytes: number;
  /** Creation time of the oldest entry; absent when the spool is empty. */
  readonly oldestAtMs?: number;
  /** Cumulative drop counters (since this spool object was created). */
  readonly dropped: SpoolDropCounts;
  /** What `quarantine/` holds (bounded by age, 100 entries, and the spool's size cap). */
  readonly quarantine: { readonly files: number; readonly bytes: number };
  /** Present when entries of another key were moved aside at startup. */
  readonly keyMismatch?: SpoolKeyMismatch;
}

/**
 * The agent's on-disk store for batches and reports it could not deliver. Entries are encrypted
 * at rest, written atomically, listed oldest first and trimmed by age and total size. Operations
 * may be called concurrently; they run one at a time, in call order.
 */
export interface Spool {
  /**
   * Encrypts and stores one entry atomically, then trims the spool to its caps.
   *
   * @param entry - the plaintext and its metadata.
   * @returns the stored entry's ref.
   * @throws {@link SpoolError} (as a rejection) `spool_io` when it could not be written,
   *   `spool_entry_too_large` when it alone exceeds `maxTotalBytes`; nothing is stored then, and
   *   the caller counts the entry as dropped. `InvalidArgumentError` for a bad kind or count.
   * @example
   * ```ts
   * await spool.write({ kind: 'events', payload: new TextEncoder().encode(json), itemCount: 100 });
   * ```
   */
  write(entry: SpoolEntryInput): Promise<SpoolEntryRef>;
  /**
   * Lists the entries, oldest first, from their clear headers (authenticated only on read).
   *
   * @returns every entry's ref.
   * @throws {@link SpoolError} (as a rejection) `spool_io` when the directory cannot be read.
   * @example
   * ```ts
   * const refs = await spool.list();
   * ```
   */
  list(): Promise<readonly SpoolEntryRef[]>;
  /**
   * Reads and decrypts the oldest entries for a resend run, after trimming. Corrupt or
   * unreadable entries are skipped, quarantined and counted, and the run still fills up to
   * `limit`. Entries stay on disk
   * until `remove` is called after their delivery.
   *
   * @param limit - at most this many entries; defaults to the spool's `maxFilesPerRun`.
   * @returns the entries, oldest first.
   * @throws {@link SpoolError} (as a rejection) `spool_io` only when the directory itself
   *   cannot be read (never for what one file holds).
   * @example
   * ```ts
   * for (const entry of await spool.takeOldest()) {
   *   if ((await send(entry.payload)).status === 'sent') await spool.remove(entry.ref);
   * }
   * ```
   */
  takeOldest(limit?: number): Promise<readonly SpoolEntry[]>;
  /**
   * Deletes an entry (after it was delivered).
   *
   * @param ref - the entry, as returned by `write`, `list` or `takeOldest`.
   * @returns true when it was deleted, false when it was already gone.
   * @throws {@link SpoolError} (as a rejection) `spool_io` when the file cannot be deleted.
   * @example
   * ```ts
   * await spool.remove(entry.ref);
   * ```
   */
  remove(ref: Pick<SpoolEntryRef, 'id'>): Promise<boolean>;
  /**
   * Replaces an entry's contents atomically, keeping its id, kind and creation time (and so its
   * place in the order and its age). Used to take some events out of a batch.
   *
   * @param ref - the entry to replace.
   * @param payload - the new plaintext.
   * @param itemCount - how many items the new plaintext holds.
   * @returns the updated ref, or undefined when the entry no longer exists.
   * @throws {@link SpoolError} (as a rejection) `spool_io` when it cannot be written; the old
   *   contents are then still intact.
   * @example
   * ```ts
   * await spool.rewrite(entry.ref, encode(kept), kept.length);
   * ```
   */
  rewrite(
    ref: Pick<SpoolEntryRef, 'id'>,
    payload: Uint8Array,
    itemCount: number,
  ): Promise<SpoolEntryRef | undefined>;
  /**
   * Decrypts every entry, oldest first, and lets `decide` keep, drop or rewrite each one: how the
   * agent purges the unsent events of a scope whose consent was withdrawn. `decide` is
   * synchronous on purpose: it runs inside the spool's queue, where awaiting another spool
   * operation would deadlock.
   *
   * @param decide - called once per readable entry.
   * @returns what the pass did.
   * @throws {@link SpoolError} (as a rejection) `spool_io` when an entry cannot be read, deleted
   *   or rewritten; entries handled before the failure stay handled. Whatever `decide` throws.
   * @example
   * ```ts
   * const result = await spool.filterEntries((entry) => {
   *   const events = JSON.parse(decoder.decode(entry.payload)).filter((e) => e.scope !== 'activity');
   *   if (events.length === entry.itemCount) return 'keep';
   *   if (events.length === 0) return 'drop';
   *   return { payload: encoder.encode(JSON.stringify(events)), itemCount: events.length };
   * });
   * drops.no_consent += result.removedItems;
   * ```
   */
  filterEntries(decide: (entry: SpoolEntry) => SpoolEntryUpdate): Promise<SpoolFilterResult>;
  /**
   * Counts the entries and what has been dropped, synchronously (for status snapshots), from
   * the spool's in-memory index: exact as of the last completed operation, and empty until
   * `recover()` or another operation has first read the directory.
   *
   * @returns a snapshot.
   * @example
   * ```ts
   * const { files, bytes, dropped } = spool.stats();
   * ```
   */
  stats(): SpoolStats;
  /**
   * Startup clean-up: deletes the temp files of writes a crash interrupted, checks the entries
   * belong to the spool key (moving those of another key aside, adopting those of this key
   * from `orphaned-*` folders), rescans the directory (quarantining and counting what it cannot
   * use) and trims to the caps.
   * Call it once before the first resend.
   *
   * @returns what was cleaned up.
   * @throws {@link SpoolError} (as a rejection) `spool_io` when the directory cannot be created
   *   or read.
   * @example
   * ```ts
   * await spool.recover();
   * ```
   */
  recover(): Promise<SpoolRecoverResult>;
}
