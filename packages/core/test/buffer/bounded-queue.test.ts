import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BoundedQueueOptions,
  createBoundedQueue,
  jsonByteLength,
  type OverflowPolicy,
  utf8ByteLength,
} from '../../src/buffer/bounded-queue.js';
import { InvalidArgumentError } from '../../src/errors.js';

/** A queue of numbers whose size in bytes is the number itself. */
function numbers(options: Omit<BoundedQueueOptions<number>, 'sizeOf'> = {}) {
  return createBoundedQueue<number>({ ...options, sizeOf: (n) => n });
}

describe('createBoundedQueue: basics', () => {
  it('is FIFO', () => {
    const queue = numbers();
    for (const n of [1, 2, 3, 4])
      expect(queue.offer(n)).toEqual({ status: 'accepted', evicted: 0 });
    expect(queue.size).toBe(4);
    expect(queue.bytes).toBe(10);
    expect(queue.peek()).toBe(1);
    expect(queue.drain(2)).toEqual([1, 2]);
    expect(queue.drain()).toEqual([3, 4]);
    expect(queue.size).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.peek()).toBeUndefined();
    expect(queue.drain()).toEqual([]);
  });

  it('keeps FIFO order across wrap-around and growth', () => {
    const queue = numbers({ maxItems: 1_000 });
    const expected: number[] = [];
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) {
        queue.offer(next);
        expected.push(next++);
      }
      out.push(...queue.drain(5));
    }
    out.push(...queue.drain());
    expect(out).toEqual(expected);
  });

  it('has the documented defaults', () => {
    const queue = createBoundedQueue<string>();
    expect(queue.maxItems).toBe(1_000);
    expect(queue.maxBytes).toBe(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 1_001; i++) queue.offer(`e${i}`);
    // drop-oldest by default
    expect(queue.size).toBe(1_000);
    expect(queue.peek()).toBe('e1');
    expect(queue.dropped().overflow).toBe(1);
  });

  it('measures items as the UTF-8 length of their JSON by default', () => {
    const queue = createBoundedQueue<unknown>();
    queue.offer({ a: 'é' }); // {"a":"é"}: 9 characters, 'é' takes 2 bytes
    expect(queue.bytes).toBe(10);
    queue.offer('😀'); // "😀": 2 quotes + 4 bytes
    expect(queue.bytes).toBe(16);
  });

  it('takes a precomputed size over sizeOf', () => {
    const queue = numbers();
    queue.offer(5, 100);
    expect(queue.bytes).toBe(100);
    expect(queue.takeBatch()).toEqual({ items: [5], bytes: 100 });
  });

  it('clears without counting drops', () => {
    const queue = numbers();
    queue.offer(1);
    queue.offer(2);
    expect(queue.clear()).toBe(2);
    expect(queue.size).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.dropped()).toEqual({ overflow: 0, too_large: 0, unmeasurable: 0 });
    queue.offer(3);
    expect(queue.drain()).toEqual([3]);
  });

  it('returns a snapshot of the drop counters', () => {
    const queue = numbers({ maxItems: 1, overflow: 'drop-newest' });
    queue.offer(1);
    const before = queue.dropped();
    queue.offer(2);
    expect(before.overflow).toBe(0);
    expect(queue.dropped().overflow).toBe(1);
    expect(Object.isFrozen(before)).toBe(true);
  });
});

describe('createBoundedQueue: overflow policies', () => {
  it('drop-oldest evicts from the front and accepts the new item', () => {
    const queue = numbers({ maxItems: 3, overflow: 'drop-oldest' });
    for (const n of [1, 2, 3]) queue.offer(n);
    expect(queue.offer(4)).toEqual({ status: 'accepted', evicted: 1 });
    expect(queue.drain()).toEqual([2, 3, 4]);
    expect(queue.dropped().overflow).toBe(1);
  });

  it('drop-oldest evicts as many as the byte limit needs', () => {
    const queue = numbers({ maxBytes: 10, overflow: 'drop-oldest' });
    for (const n of [3, 3, 3]) queue.offer(n);
    expect(queue.offer(7)).toEqual({ status: 'accepted', evicted: 2 });
    expect(queue.drain()).toEqual([3, 7]);
    expect(queue.dropped().overflow).toBe(2);
  });

  it('drop-newest drops the new item and keeps the queue', () => {
    const queue = numbers({ maxItems: 2, overflow: 'drop-newest' });
    queue.offer(1);
    queue.offer(2);
    expect(queue.offer(3)).toEqual({ status: 'dropped', reason: 'overflow' });
    expect(queue.drain()).toEqual([1, 2]);
    expect(queue.dropped().overflow).toBe(1);
  });

  it('drop-newest respects the byte limit', () => {
    const queue = numbers({ maxBytes: 10, overflow: 'drop-newest' });
    queue.offer(6);
    expect(queue.offer(5)).toEqual({ status: 'dropped', reason: 'overflow' });
    expect(queue.offer(4)).toMatchObject({ status: 'accepted' });
    expect(queue.bytes).toBe(10);
  });

  it('reject drops nothing and leaves the decision to the caller', () => {
    const queue = numbers({ maxItems: 2, maxBytes: 100, overflow: 'reject' });
    queue.offer(1);
    queue.offer(2);
    expect(queue.offer(3)).toEqual({ status: 'rejected', reason: 'full' });
    expect(queue.offer(101)).toEqual({ status: 'rejected', reason: 'too_large' });
    expect(queue.dropped()).toEqual({ overflow: 0, too_large: 0, unmeasurable: 0 });
    // The caller moves the buffered items elsewhere (the agent's spool), then offers again.
    expect(queue.drain()).toEqual([1, 2]);
    expect(queue.offer(3)).toMatchObject({ status: 'accepted' });
  });

  it.each<OverflowPolicy>(['drop-oldest', 'drop-newest'])(
    '%s drops an item larger than maxBytes as too_large, keeping the queue',
    (overflow) => {
      const queue = numbers({ maxBytes: 10, overflow });
      queue.offer(4);
      expect(queue.offer(11)).toEqual({ status: 'dropped', reason: 'too_large' });
      expect(queue.drain()).toEqual([4]);
      expect(queue.dropped()).toEqual({ overflow: 0, too_large: 1, unmeasurable: 0 });
    },
  );

  it('drops an item whose size cannot be measured', () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    const queue = createBoundedQueue<unknown>();
    expect(queue.offer(cyclic)).toEqual({ status: 'dropped', reason: 'unmeasurable' });
    expect(queue.offer(10n)).toEqual({ status: 'dropped', reason: 'unmeasurable' });
    expect(queue.offer('x', Number.NaN)).toEqual({ status: 'dropped', reason: 'unmeasurable' });
    expect(queue.offer('x', -1)).toEqual({ status: 'dropped', reason: 'unmeasurable' });
    expect(queue.dropped().unmeasurable).toBe(4);
    expect(queue.size).toBe(0);
  });
});

describe('createBoundedQueue: takeBatch', () => {
  it('takes from the front while the summed sizes fit maxBytes', () => {
    const queue = numbers();
    for (const n of [4, 4, 4, 1]) queue.offer(n);
    expect(queue.takeBatch({ maxBytes: 10 })).toEqual({ items: [4, 4], bytes: 8 });
    expect(queue.takeBatch({ maxBytes: 10 })).toEqual({ items: [4, 1], bytes: 5 });
    expect(queue.takeBatch({ maxBytes: 10 })).toEqual({ items: [], bytes: 0 });
  });

  it('includes an item exactly at the cap', () => {
    const queue = numbers();
    queue.offer(10);
    queue.offer(1);
    expect(queue.takeBatch({ maxBytes: 10 })).toEqual({ items: [10], bytes: 10 });
  });

  it('takes at most maxEvents', () => {
    const queue = numbers();
    for (const n of [1, 1, 1, 1, 1]) queue.offer(n);
    expect(queue.takeBatch({ maxEvents: 3 }).items).toEqual([1, 1, 1]);
    expect(queue.size).toBe(2);
  });

  it('drops an item larger than the batch cap as too_large and goes on', () => {
    const queue = numbers();
    for (const n of [20, 3, 30, 4]) queue.offer(n);
    expect(queue.takeBatch({ maxBytes: 10 })).toEqual({ items: [3, 4], bytes: 7 });
    expect(queue.dropped().too_large).toBe(2);
    expect(queue.size).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it.each([{ maxEvents: 0 }, { maxEvents: 1.5 }, { maxBytes: 0 }, { maxBytes: Number.NaN }])(
    'rejects %o',
    (options) => {
      expect(() => numbers().takeBatch(options)).toThrow(InvalidArgumentError);
    },
  );
});

describe('createBoundedQueue: options', () => {
  it.each<BoundedQueueOptions<number>>([
    { maxItems: 0 },
    { maxItems: 1.5 },
    { maxItems: Number.POSITIVE_INFINITY },
    { maxBytes: 0 },
    { maxBytes: -1 },
    { maxBytes: Number.NaN },
    { overflow: 'drop-random' as OverflowPolicy },
    { sizeOf: 'length' as unknown as (n: number) => number },
  ])('rejects %o', (options) => {
    expect(() => createBoundedQueue(options)).toThrow(InvalidArgumentError);
  });

  it('rejects a negative drain count', () => {
    expect(() => numbers().drain(-1)).toThrow(InvalidArgumentError);
    expect(() => numbers().drain(Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe('createBoundedQueue: properties', () => {
  const op = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('offer'), size: fc.nat({ max: 40 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drain'), count: fc.nat({ max: 8 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('take'),
        maxEvents: fc.integer({ min: 1, max: 8 }),
        maxBytes: fc.integer({ min: 1, max: 60 }),
      }),
    },
  );

  it('accounts for every offer and keeps FIFO order, under every policy', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<OverflowPolicy>('drop-oldest', 'drop-newest', 'reject'),
        fc.integer({ min: 1, max: 20 }),
        fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
        fc.array(op, { maxLength: 300 }),
        (overflow, maxItems, maxBytes, ops) => {
          const queue = createBoundedQueue<{ id: number; size: number }>({
            maxItems,
            maxBytes,
            overflow,
            sizeOf: (item) => item.size,
          });
          let offered = 0;
          let accepted = 0;
          let rejected = 0;
          let evicted = 0;
          const droppedAtOffer = { overflow: 0, too_large: 0, unmeasurable: 0 };
          const out: number[] = [];
          for (const o of ops) {
            if (o.kind === 'offer') {
              const result = queue.offer({ id: offered++, size: o.size });
              if (result.status === 'accepted') {
                accepted++;
                evicted += result.evicted;
              } else if (result.status === 'dropped') droppedAtOffer[result.reason]++;
              else rejected++;
            } else if (o.kind === 'drain') {
              out.push(...queue.drain(o.count).map((item) => item.id));
            } else {
              const batch = queue.takeBatch({ maxEvents: o.maxEvents, maxBytes: o.maxBytes });
              expect(batch.items.length).toBeLessThanOrEqual(o.maxEvents);
              expect(batch.bytes).toBeLessThanOrEqual(o.maxBytes);
              expect(batch.bytes).toBe(batch.items.reduce((sum, item) => sum + item.size, 0));
              out.push(...batch.items.map((item) => item.id));
            }
            expect(queue.size).toBeLessThanOrEqual(maxItems);
            expect(queue.bytes).toBeLessThanOrEqual(maxBytes ?? Number.POSITIVE_INFINITY);
          }
          out.push(...queue.drain().map((item) => item.id));
          const drops = queue.dropped();
          const offerDrops =
            droppedAtOffer.overflow + droppedAtOffer.too_large + droppedAtOffer.unmeasurable;
          expect(offered).toBe(accepted + offerDrops + rejected);
          expect(drops.overflow).toBe(droppedAtOffer.overflow + evicted);
          expect(drops.unmeasurable).toBe(droppedAtOffer.unmeasurable);
          const tooLargeForBatch = drops.too_large - droppedAtOffer.too_large;
          expect(tooLargeForBatch).toBeGreaterThanOrEqual(0);
          // Every accepted item comes out exactly once, unless evicted or too large for a batch.
          expect(out.length).toBe(accepted - evicted - tooLargeForBatch);
          // FIFO: ids come out strictly increasing.
          for (let i = 1; i < out.length; i++) expect(out[i]!).toBeGreaterThan(out[i - 1]!);
          if (overflow === 'reject') expect(drops.overflow + droppedAtOffer.too_large).toBe(0);
          if (overflow !== 'drop-oldest') expect(evicted).toBe(0);
        },
      ),
    );
  });

  it('measures UTF-8 like TextEncoder, lone surrogates included', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(
        // UTF-16 code units from every UTF-8 length class, surrogates (paired or not) included.
        fc
          .array(
            fc.oneof(
              fc.integer({ min: 0, max: 0x7f }),
              fc.integer({ min: 0x80, max: 0x7ff }),
              fc.integer({ min: 0x800, max: 0xffff }),
              fc.integer({ min: 0xd800, max: 0xdfff }),
            ),
            { maxLength: 50 },
          )
          .map((units) => String.fromCharCode(...units)),
        (text) => utf8ByteLength(text) === encoder.encode(text).length,
      ),
    );
    expect(utf8ByteLength('\ud800')).toBe(3);
    expect(utf8ByteLength('\udc00a')).toBe(4);
    expect(jsonByteLength(undefined)).toBe(0);
  });
});
