import type { SpoolEntryRef } from './spool.js';

/**
 * An event batch handed to the spool whose events are still in memory, so a flush can send it
 * as soon as it is on disk without reading it back, decrypting and parsing it.
 *
 * @internal
 */
export interface HeldBatch {
  /** The batch id written to the spool with it. */
  readonly batchId: string;
  /** Each event's JSON, as written to the spool. */
  readonly events: readonly string[];
  /** How many events it holds. */
  readonly itemCount: number;
  /** Roughly what holding it costs: the UTF-16 length of its events. */
  readonly size: number;
  /** Settles once the spool has the batch: its ref, or undefined when the write failed. */
  readonly written: Promise<SpoolEntryRef | undefined>;
  /** Set when the write failed: the events are then only in memory. */
  failed: boolean;
  /**
   * Who answers for the events if the write fails: `held` while a flush may still send this
   * copy, `sent` once the server took (or refused) them, `free` when neither (a failed write
   * is then a drop).
   */
  custody: 'free' | 'held' | 'sent';
  readonly generation: number;
}

/**
 * The in-memory copies of spooled batches that the next flush may send, capped in bytes.
 *
 * A copy is only a shortcut: the batch is on disk either way, and whatever is not held (past
 * the cap, released, or invalidated) is resent from the spool like any older file. Copies go
 * stale when consent is withdrawn, because the purge rewrites the files on disk but not them.
 *
 * @internal
 */
export class HeldBatches {
  readonly #maxBytes: number;
  #waiting: HeldBatch[] = [];
  #bytes = 0;
  #generation = 0;

  /** @param maxBytes - how much event JSON (in UTF-16 code units) is kept for the next flush. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Makes a batch of the current generation. */
  create(
    batchId: string,
    events: readonly string[],
    written: Promise<SpoolEntryRef | undefined>,
  ): HeldBatch {
    let size = 0;
    for (const json of events) size += json.length;
    return {
      batchId,
      events,
      itemCount: events.length,
      size,
      written,
      failed: false,
      custody: 'free',
      generation: this.#generation,
    };
  }

  /**
   * Keeps a batch for the next flush, unless that would pass the cap (then it waits on disk).
   *
   * @returns whether it was kept.
   */
  keep(batch: HeldBatch): boolean {
    if (this.#bytes + batch.size > this.#maxBytes) return false;
    this.#waiting.push(batch);
    this.#bytes += batch.size;
    return true;
  }

  /** Hands every kept batch, oldest first, to a flush. */
  takeAll(): HeldBatch[] {
    const taken = this.#waiting;
    this.#waiting = [];
    this.#bytes = 0;
    return taken;
  }

  /**
   * Forgets the kept copies; their batches are resent from disk.
   *
   * @returns the copies forgotten.
   */
  release(): HeldBatch[] {
    return this.takeAll();
  }

  /**
   * Consent changed: every copy made so far, kept or taken, may hold purged events.
   *
   * @returns the kept copies forgotten.
   */
  invalidate(): HeldBatch[] {
    this.#generation += 1;
    return this.release();
  }

  /** Whether a copy still matches its file on disk. */
  isCurrent(batch: HeldBatch): boolean {
    return batch.generation === this.#generation;
  }
}
