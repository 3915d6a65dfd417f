import { z } from 'zod';
import { readStateFile, writePrivateFile } from '../state/private-file.js';

/** What the ledger remembers of one command id. */
export type LedgerEntry =
  /** Answered: a redelivery gets this answer again. */
  | { readonly status: 'acked' | 'rejected'; readonly reason?: string }
  /** Its handler started and had not finished when the state was last written. */
  | { readonly status: 'running' };

const ledgerFileSchema = z.strictObject({
  version: z.literal(1),
  entries: z.array(
    z.strictObject({
      id: z.string().min(1),
      type: z.string(),
      status: z.enum(['acked', 'rejected', 'running']),
      reason: z.string().optional(),
      at: z.string(),
    }),
  ),
});

type StoredEntry = z.infer<typeof ledgerFileSchema>['entries'][number];

/** The command ids this device handled, persisted so that a restart does not run one twice. */
export interface CommandLedger {
  /**
   * What is remembered of `id`.
   *
   * @param id - a command id.
   * @returns the entry, or undefined for an id never seen (or forgotten, past the cap).
   */
  get(id: string): LedgerEntry | undefined;
  /**
   * The type recorded with `id`.
   *
   * @param id - a command id.
   * @returns the type, or undefined for an unknown id.
   */
  typeOf(id: string): string | undefined;
  /**
   * Records an entry and writes the file (atomically, 0600) before resolving.
   *
   * @param id - the command id.
   * @param type - its type (kept for operators reading the file).
   * @param entry - what to remember.
   */
  remember(id: string, type: string, entry: LedgerEntry): Promise<void>;
  /** How many ids are remembered. */
  readonly size: number;
}

/** Options of {@link loadCommandLedger}. */
export interface CommandLedgerOptions {
  /** The state file, e.g. `<stateDir>/commands-seen.json`. */
  readonly path: string;
  /**
   * Most ids remembered; the oldest are forgotten first.
   * @default 1_000
   */
  readonly maxEntries?: number;
  /** RFC 3339 "now", for the entries' timestamps. */
  readonly now: () => string;
}

/**
 * Loads (or starts) the ledger of handled command ids. A file that cannot be read as a ledger
 * is started afresh rather than stopping the agent: the server's own final states still stop
 * an acked command from coming back, so the loss is only the redelivery window.
 *
 * @param options - file, cap, clock.
 * @returns the ledger.
 * @example
 * ```ts
 * const ledger = await loadCommandLedger({ path, now: () => new Date().toISOString() });
 * if (ledger.get(command.id) === undefined) await run(command);
 * ```
 */
export async function loadCommandLedger(options: CommandLedgerOptions): Promise<CommandLedger> {
  const maxEntries = options.maxEntries ?? 1_000;
  const stored = await readStateFile(options.path, ledgerFileSchema, { private: true }).catch(
    () => undefined,
  );
  // Map insertion order is the age order used to forget the oldest ids first.
  const entries = new Map<string, StoredEntry>();
  for (const entry of stored?.entries ?? []) entries.set(entry.id, entry);
  let writing: Promise<void> = Promise.resolve();

  const persist = (): Promise<void> => {
    // Serialized so that two answers finishing together cannot write older content last.
    const snapshot = JSON.stringify({ version: 1, entries: [...entries.values()] });
    writing = writing.catch(() => undefined).then(() => writePrivateFile(options.path, snapshot));
    return writing;
  };

  return {
    get(id) {
      const entry = entries.get(id);
      if (entry === undefined) return undefined;
      if (entry.status === 'running') return { status: 'running' };
      return entry.reason === undefined
        ? { status: entry.status }
        : { status: entry.status, reason: entry.reason };
    },
    typeOf: (id) => entries.get(id)?.type,
    remember(id, type, entry) {
      entries.delete(id);
      entries.set(id, {
        id,
        type,
        status: entry.status,
        ...('reason' in entry && entry.reason !== undefined ? { reason: entry.reason } : {}),
        at: options.now(),
      });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
      return persist();
    },
    get size() {
      return entries.size;
    },
  };
}
