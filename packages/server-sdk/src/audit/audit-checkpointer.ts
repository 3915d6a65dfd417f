import { type Clock, type Identity, InvalidArgumentError, systemClock } from '@fieldline/core';
import type { Kysely } from 'kysely';
import type { FieldlineDatabase } from '../db/database-schema.js';
import {
  type AuditCheckpoint,
  parseAuditCheckpoint,
  signAuditCheckpoint,
} from './audit-checkpoint.js';
import type { AuditCheckpointSink } from './audit-checkpoint-sink.js';

/** Options of {@link createAuditCheckpointer}. */
export interface AuditCheckpointerOptions {
  /** The Fieldline database. */
  readonly db: Kysely<FieldlineDatabase>;
  /** Where checkpoints are kept, apart from the database. */
  readonly sink: AuditCheckpointSink;
  /** The signer: the server's identity. */
  readonly identity: Identity;
  /**
   * Public keys whose checkpoints count when read back.
   * @default [identity.signingPublicKey]
   */
  readonly trustedPublicKeys?: readonly (Uint8Array | string)[];
  /**
   * How often {@link AuditCheckpointer.start} takes a checkpoint (only when the head moved), in
   * milliseconds. Rows newer than the last checkpoint can be removed undetected: keep it short.
   * @default 10_000
   */
  readonly intervalMs?: number;
  /**
   * Time source of the checkpoints' `at`.
   * @default systemClock
   */
  readonly clock?: Clock;
  /** Receives errors of periodic checkpoints (a sink that failed, a database away). */
  readonly onError?: (error: unknown) => void;
  /**
   * Called when the chain no longer extends the last checkpoint (rows at or before it were
   * removed or rewritten); no checkpoint is written over it.
   */
  readonly onDiverged?: (divergence: AuditDivergence) => void;
}

/** The chain's head: its newest row. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/** A chain that no longer holds the row the last checkpoint names. */
export interface AuditDivergence {
  /** The checkpoint the chain should extend. */
  readonly checkpoint: AuditCheckpoint;
  /** The chain's current head, or null when the table is empty. */
  readonly head: AuditHead | null;
}

/** What one {@link AuditCheckpointer.checkpoint} call did. */
export type AuditCheckpointOutcome =
  | { readonly status: 'written'; readonly checkpoint: AuditCheckpoint }
  | { readonly status: 'unchanged'; readonly checkpoint: AuditCheckpoint | null }
  | ({ readonly status: 'diverged' } & AuditDivergence);

/** The checkpoint a verification compares the chain with. */
export interface AuditCheckpointState {
  /** The newest trusted checkpoint, or null when none was taken yet. */
  readonly checkpoint: AuditCheckpoint | null;
  /**
   * Why the store's newest record cannot be trusted (unreadable, unsigned, older than what this
   * process wrote), or null when it is fine. A non-null value is itself a sign of tampering.
   */
  readonly error: string | null;
}

/** Takes signed checkpoints of the audit chain's head and reads the newest back. */
export interface AuditCheckpointer {
  /**
   * Takes a checkpoint now if the head moved since the last one. Refuses (status `diverged`)
   * when the chain no longer holds the last checkpoint's row with its hash: signing the
   * shortened chain would hide the truncation.
   *
   * @returns what was done.
   * @throws the database or sink error.
   */
  checkpoint(): Promise<AuditCheckpointOutcome>;
  /**
   * The newest trusted checkpoint: the store's newest record, checked, or the newest this
   * process wrote when the store lost it.
   *
   * @returns the checkpoint and any problem with the store.
   */
  latest(): Promise<AuditCheckpointState>;
  /** Starts periodic checkpoints every `intervalMs`. */
  start(): void;
  /**
   * Stops periodic checkpoints and takes a last one, so a clean shutdown leaves nothing
   * unanchored. Errors go to `onError`.
   */
  stop(): Promise<void>;
}

async function readHead(db: Kysely<FieldlineDatabase>): Promise<AuditHead | null> {
  const row = await db
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ?? null;
}

/**
 * Whether the chain still holds the checkpoint's row with the checkpoint's hash. The row's
 * hash commits to every earlier row, so this one indexed read answers for the whole prefix
 * (together with the chain verification, which checks the links).
 *
 * @param db - the database.
 * @param checkpoint - the checkpoint.
 * @returns true when the row is there, unchanged.
 * @internal
 */
export async function chainHoldsCheckpoint(
  db: Kysely<FieldlineDatabase>,
  checkpoint: Pick<AuditCheckpoint, 'seq' | 'hash'>,
): Promise<boolean> {
  const row = await db
    .selectFrom('audit_log')
    .select('hash')
    .where('seq', '=', checkpoint.seq)
    .executeTakeFirst();
  return row?.hash === checkpoint.hash;
}

/**
 * Creates the audit checkpointer: every `intervalMs` (and on {@link AuditCheckpointer.stop}) it
 * signs `{ seq, hash, at }` of the chain's head with the server's Ed25519 key and appends it to
 * a sink kept apart from the database. `GET /v1/admin/audit/verify` then reports `truncated`
 * when the chain lost the checkpoint's row or changed it.
 *
 * @param options - database, sink, signer, interval.
 * @returns the checkpointer (not started).
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when `intervalMs`
 *   is not a positive integer.
 * @example
 * ```ts
 * const checkpointer = createAuditCheckpointer({ db, identity, sink: createFileCheckpointSink({ path }) });
 * checkpointer.start();
 * // … on shutdown:
 * await checkpointer.stop();
 * ```
 */
export function createAuditCheckpointer(options: AuditCheckpointerOptions): AuditCheckpointer {
  const { db, sink, identity } = options;
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? 10_000;
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw new InvalidArgumentError('intervalMs must be a positive integer.', { intervalMs });
  }
  const trusted = options.trustedPublicKeys ?? [identity.signingPublicKey];
  const onError = options.onError ?? (() => undefined);
  // The newest checkpoint this process wrote or trusted; undefined until the store was read.
  let base: AuditCheckpoint | null | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let divergedAt: string | undefined;

  async function readStore(): Promise<AuditCheckpointState> {
    let stored: unknown;
    try {
      stored = await sink.latest();
    } catch (error) {
      return {
        checkpoint: base ?? null,
        error: `the checkpoint store cannot be read (${(error as Error).message})`,
      };
    }
    if (stored === undefined) {
      return base
        ? { checkpoint: base, error: 'the checkpoint store lost every checkpoint' }
        : { checkpoint: null, error: null };
    }
    const parsed = parseAuditCheckpoint(stored, trusted);
    if (!parsed.ok) {
      return {
        checkpoint: base ?? null,
        error: `the newest stored checkpoint does not count: ${parsed.reason}`,
      };
    }
    if (base && parsed.checkpoint.seq < base.seq) {
      return {
        checkpoint: base,
        error: `the checkpoint store lost checkpoints: its newest is seq ${parsed.checkpoint.seq}, this server wrote seq ${base.seq}`,
      };
    }
    return { checkpoint: parsed.checkpoint, error: null };
  }

  async function takeCheckpoint(): Promise<AuditCheckpointOutcome> {
    if (base === undefined) {
      const state = await readStore();
      // Without a trustworthy starting point, a new checkpoint could bless a truncated chain.
      if (state.error !== null) throw new Error(`Audit checkpoint refused: ${state.error}.`);
      base = state.checkpoint;
    }
    const head = await readHead(db);
    if (base !== null && !(await chainHoldsCheckpoint(db, base))) {
      const divergence = { checkpoint: base, head };
      const key = `${base.seq}:${head?.seq ?? 0}`;
      if (divergedAt !== key) {
        divergedAt = key;
        options.onDiverged?.(divergence);
      }
      return { status: 'diverged', ...divergence };
    }
    if (head === null || (base !== null && head.seq === base.seq)) {
      return { status: 'unchanged', checkpoint: base };
    }
    const checkpoint = signAuditCheckpoint(
      { seq: head.seq, hash: head.hash, at: new Date(clock.now()).toISOString() },
      identity,
    );
    await sink.append(checkpoint);
    base = checkpoint;
    return { status: 'written', checkpoint };
  }

  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = running.then(work);
    running = result.catch(() => undefined);
    return result;
  }

  return {
    checkpoint: () => serialized(takeCheckpoint),
    latest: () => serialized(readStore),
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        serialized(takeCheckpoint).catch(onError);
      }, intervalMs);
      timer.unref?.();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await serialized(takeCheckpoint).catch(onError);
    },
  };
}
