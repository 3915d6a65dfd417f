import { InvalidArgumentError } from '../errors.js';

/**
 * What a full {@link BoundedQueue} does with a new item:
 * - `drop-oldest`: evicts items from the front until the new one fits (a ring buffer);
 * - `drop-newest`: drops the new item;
 * - `reject`: drops nothing and tells the caller, who decides (the agent seals the buffered
 *   events into its disk spool, then offers again).
 */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'reject';

/**
 * Why a queue dropped an item:
 * - `overflow`: the queue was full (`drop-oldest` evictions and `drop-newest` drops);
 * - `too_large`: the item alone is larger than the queue's `maxBytes`, or than a
 *   {@link BoundedQueue.takeBatch} byte cap;
 * - `unmeasurable`: `sizeOf` threw or returned something other than a finite number ≥ 0.
 */
export type DropReason = 'overflow' | 'too_large' | 'unmeasurable';

/** The result of {@link BoundedQueue.offer}. */
export type OfferResult =
  | {
      readonly status: 'accepted';
      /** Older items evicted to make room (only with `drop-oldest`). */
      readonly evicted: number;
    }
  | { readonly status: 'dropped'; readonly reason: DropReason }
  | {
      /** Only with `reject`: nothing was dropped, the item was not queued. */
      readonly status: 'rejected';
      /** `full`: try again after taking a batch; `too_large`: it can never fit. */
      readonly reason: 'full' | 'too_large';
    };

/** Options of {@link createBoundedQueue}. */
export interface BoundedQueueOptions<T> {
  /**
   * Most items held at once. A positive integer.
   * @default 1_000
   */
  readonly maxItems?: number;
  /**
   * Most total bytes held at once (summed `sizeOf`). A number > 0, or `Infinity`.
   * @default Infinity
   */
  readonly maxBytes?: number;
  /**
   * The size of an item in bytes. Pass a precomputed size when you have one (the serialized
   * envelope's length); the default serializes every item, which costs more than the queue.
   * @default the UTF-8 length of `JSON.stringify(item)`
   */
  readonly sizeOf?: (item: T) => number;
  /**
   * What to do when a new item does not fit.
   * @default 'drop-oldest'
   */
  readonly overflow?: OverflowPolicy;
}

/** Limits of {@link BoundedQueue.takeBatch}. */
export interface TakeBatchOptions {
  /**
   * Most items in the batch. A positive integer or `Infinity`.
   * @default Infinity
   */
  readonly maxEvents?: number;
  /**
   * Most summed bytes in the batch. A number > 0 or `Infinity`.
   * @default Infinity
   */
  readonly maxBytes?: number;
}

/** A batch taken from the front of a {@link BoundedQueue}. */
export interface Batch<T> {
  /** The items, oldest first. */
  readonly items: T[];
  /** Their summed sizes, in bytes. */
  readonly bytes: number;
}

/**
 * A FIFO queue bounded by item count and total bytes, with O(1) amortized offer and take.
 * Every drop is counted by reason.
 *
 * @typeParam T - the item type.
 */
export interface BoundedQueue<T> {
  /** Items held. */
  readonly size: number;
  /** Summed sizes of the items held, in bytes. */
  readonly bytes: number;
  /** The configured item limit. */
  readonly maxItems: number;
  /** The configured byte limit (`Infinity` when unbounded). */
  readonly maxBytes: number;
  /**
   * Adds an item at the back, applying the overflow policy when it does not fit.
   *
   * @param item - the item.
   * @param sizeBytes - its size, overriding `sizeOf` (for callers that already serialized it).
   * @returns whether it was accepted, dropped (and why), or rejected.
   */
  offer(item: T, sizeBytes?: number): OfferResult;
  /**
   * Removes items from the front.
   *
   * @param maxCount - most items to remove; all when omitted.
   * @returns the removed items, oldest first.
   * @throws {@link InvalidArgumentError} when `maxCount` is negative or `NaN`.
   */
  drain(maxCount?: number): T[];
  /**
   * Removes from the front the longest run of items that fits both limits. An item larger than
   * `maxBytes` on its own can never be sent: it is dropped (counted as `too_large`) and the
   * batch continues past it, so one oversized item never stalls the queue. The batch holds at
   * least one item whenever the queue holds one that fits.
   *
   * @param options - see {@link TakeBatchOptions}.
   * @returns the batch; empty when the queue is.
   * @throws {@link InvalidArgumentError} for a limit that is not positive.
   */
  takeBatch(options?: TakeBatchOptions): Batch<T>;
  /** The front (oldest) item without removing it, or `undefined` when empty. */
  peek(): T | undefined;
  /**
   * Removes every item without counting them as drops (the caller chose to discard them, as
   * when consent is withdrawn).
   *
   * @returns how many items were removed.
   */
  clear(): number;
  /** A snapshot of the drop counters since the queue was created. */
  dropped(): Readonly<Record<DropReason, number>>;
}

/**
 * The UTF-8 length of a string, without encoding it.
 *
 * @param text - any string; lone surrogates count 3 bytes, as `TextEncoder` replaces them with
 *   U+FFFD.
 * @returns the byte length.
 * @example
 * ```ts
 * utf8ByteLength('héllo'); // 6
 * ```
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The default `sizeOf`: the UTF-8 length of the item's JSON.
 *
 * @param item - any JSON-serializable value (`undefined` and functions measure 0).
 * @returns the byte length.
 * @throws whatever `JSON.stringify` throws (cycles, BigInt); the queue counts such items as
 *   `unmeasurable` drops.
 */
export function jsonByteLength(item: unknown): number {
  const json = JSON.stringify(item) as string | undefined;
  return json === undefined ? 0 : utf8ByteLength(json);
}

const ACCEPTED: OfferResult = Object.freeze({ status: 'accepted', evicted: 0 });
const DROPPED_OVERFLOW: OfferResult = Object.freeze({ status: 'dropped', reason: 'overflow' });
const DROPPED_TOO_LARGE: OfferResult = Object.freeze({ status: 'dropped', reason: 'too_large' });
const DROPPED_UNMEASURABLE: OfferResult = Object.freeze({
  status: 'dropped',
  reason: 'unmeasurable',
});
const REJECTED_FULL: OfferResult = Object.freeze({ status: 'rejected', reason: 'full' });
const REJECTED_TOO_LARGE: OfferResult = Object.freeze({ status: 'rejected', reason: 'too_large' });

const INITIAL_SLOTS = 16;

function isPositiveLimit(value: number): boolean {
  return typeof value === 'number' && value > 0;
}

class RingQueue<T> implements BoundedQueue<T> {
  readonly maxItems: number;
  readonly maxBytes: number;
  readonly #sizeOf: (item: T) => number;
  readonly #overflow: OverflowPolicy;
  // Parallel ring buffers; the slot count is a power of two so wrapping is a mask.
  #items: (T | undefined)[];
  #sizes: number[];
  #mask: number;
  #head = 0;
  #length = 0;
  #bytes = 0;
  readonly #drops: Record<DropReason, number> = { overflow: 0, too_large: 0, unmeasurable: 0 };

  constructor(
    maxItems: number,
    maxBytes: number,
    sizeOf: (item: T) => number,
    overflow: OverflowPolicy,
  ) {
    this.maxItems = maxItems;
    this.maxBytes = maxBytes;
    this.#sizeOf = sizeOf;
    this.#overflow = overflow;
    // Grow on demand: a large maxItems must not cost its full memory up front.
    const slots = Math.min(INITIAL_SLOTS, 2 ** Math.ceil(Math.log2(maxItems)));
    this.#items = new Array<T | undefined>(slots);
    this.#sizes = new Array<number>(slots).fill(0);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  offer(item: T, sizeBytes?: number): OfferResult {
    let size: number;
    try {
      size = sizeBytes ?? this.#sizeOf(item);
    } catch {
      size = Number.NaN;
    }
    if (typeof size !== 'number' || !(size >= 0) || size === Number.POSITIVE_INFINITY) {
      this.#drops.unmeasurable++;
      return DROPPED_UNMEASURABLE;
    }
    if (size > this.maxBytes) {
      if (this.#overflow === 'reject') return REJECTED_TOO_LARGE;
      this.#drops.too_large++;
      return DROPPED_TOO_LARGE;
    }
    if (this.#length < this.maxItems && this.#bytes + size <= this.maxBytes) {
      this.#push(item, size);
      return ACCEPTED;
    }
    if (this.#overflow === 'reject') return REJECTED_FULL;
    if (this.#overflow === 'drop-newest') {
      this.#drops.overflow++;
      return DROPPED_OVERFLOW;
    }
    let evicted = 0;
    // Terminates: size ≤ maxBytes, so an empty queue always has room.
    while (this.#length >= this.maxItems || this.#bytes + size > this.maxBytes) {
      this.#shift();
      evicted++;
    }
    this.#drops.overflow += evicted;
    this.#push(item, size);
    return { status: 'accepted', evicted };
  }

  drain(maxCount: number = Number.POSITIVE_INFINITY): T[] {
    if (typeof maxCount !== 'number' || !(maxCount >= 0)) {
      throw new InvalidArgumentError('drain: maxCount must be ≥ 0', { maxCount });
    }
    const count = Math.min(this.#length, Math.floor(maxCount));
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = this.#shift();
    return out;
  }

  takeBatch(options: TakeBatchOptions = {}): Batch<T> {
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    if (
      !isPositiveLimit(maxEvents) ||
      !(Number.isInteger(maxEvents) || maxEvents === Number.POSITIVE_INFINITY)
    ) {
      throw new InvalidArgumentError('takeBatch: maxEvents must be an integer ≥ 1 or Infinity', {
        maxEvents,
      });
    }
    if (!isPositiveLimit(maxBytes)) {
      throw new InvalidArgumentError('takeBatch: maxBytes must be > 0', { maxBytes });
    }
    const items: T[] = [];
    let bytes = 0;
    while (this.#length > 0 && items.length < maxEvents) {
      const size = this.#sizes[this.#head]!;
      if (size > maxBytes) {
        this.#shift();
        this.#drops.too_large++;
        continue;
      }
      if (bytes + size > maxBytes) break;
      bytes += size;
      items.push(this.#shift());
    }
    return { items, bytes };
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  clear(): number {
    const removed = this.#length;
    this.#items = new Array<T | undefined>(INITIAL_SLOTS);
    this.#sizes = new Array<number>(INITIAL_SLOTS).fill(0);
    this.#mask = INITIAL_SLOTS - 1;
    this.#head = 0;
    this.#length = 0;
    this.#bytes = 0;
    return removed;
  }

  dropped(): Readonly<Record<DropReason, number>> {
    return Object.freeze({ ...this.#drops });
  }

  #push(item: T, size: number): void {
    if (this.#length === this.#items.length) this.#grow();
    const slot = (this.#head + this.#length) & this.#mask;
    this.#items[slot] = item;
    this.#sizes[slot] = size;
    this.#length++;
    this.#bytes += size;
  }

  #shift(): T {
    const slot = this.#head;
    const item = this.#items[slot] as T;
    // Release the reference so a drained event can be garbage-collected.
    this.#items[slot] = undefined;
    this.#bytes -= this.#sizes[slot]!;
    this.#head = (slot + 1) & this.#mask;
    this.#length--;
    // Summing floats can leave a tiny residue; an empty queue holds exactly zero bytes.
    if (this.#length === 0) this.#bytes = 0;
    return item;
  }

  #grow(): void {
    const old = this.#items.length;
    const items = new Array<T | undefined>(old * 2);
    const sizes = new Array<number>(old * 2).fill(0);
    for (let i = 0; i < this.#length; i++) {
      const slot = (this.#head + i) & this.#mask;
      items[i] = this.#items[slot];
      sizes[i] = this.#sizes[slot]!;
    }
    this.#items = items;
    this.#sizes = sizes;
    this.#mask = old * 2 - 1;
    this.#head = 0;
  }
}

/**
 * Creates a {@link BoundedQueue}: the in-memory buffer between `track()` and a flush.
 *
 * @typeParam T - the item type.
 * @param options - see {@link BoundedQueueOptions}.
 * @returns an empty queue.
 * @throws {@link InvalidArgumentError} when `maxItems` is not a positive integer, `maxBytes` is
 *   not positive, `sizeOf` is not a function or `overflow` is not a known policy.
 * @example
 * ```ts
 * const queue = createBoundedQueue<Envelope>({ maxBytes: 5_000_000, overflow: 'reject' });
 * if (queue.offer(event, serialized.length).status === 'rejected') await spool(queue.drain());
 * const { items } = queue.takeBatch({ maxEvents: 500, maxBytes: 524_288 });
 * ```
 */
export function createBoundedQueue<T>(options: BoundedQueueOptions<T> = {}): BoundedQueue<T> {
  const maxItems = options.maxItems ?? 1_000;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const sizeOf = options.sizeOf ?? jsonByteLength;
  const overflow = options.overflow ?? 'drop-oldest';
  if (!Number.isSafeInteger(maxItems) || maxItems < 1) {
    throw new InvalidArgumentError('bounded queue: maxItems must be a positive integer', {
      maxItems,
    });
  }
  if (!isPositiveLimit(maxBytes)) {
    throw new InvalidArgumentError('bounded queue: maxBytes must be > 0', { maxBytes });
  }
  if (typeof sizeOf !== 'function') {
    throw new InvalidArgumentError('bounded queue: sizeOf must be a function');
  }
  if (overflow !== 'drop-oldest' && overflow !== 'drop-newest' && overflow !== 'reject') {
    throw new InvalidArgumentError(
      "bounded queue: overflow must be 'drop-oldest', 'drop-newest' or 'reject'",
      { overflow },
    );
  }
  return new RingQueue<T>(maxItems, maxBytes, sizeOf, overflow);
}
