import { describe, expect, it } from 'vitest';
import { HeldBatches } from '../../src/spool/held-batches.js';

const onDisk = Promise.resolve(undefined);
const events = (count: number, size = 10) => Array.from({ length: count }, () => 'x'.repeat(size));

describe('HeldBatches', () => {
  it('hands kept batches to the next flush oldest first, then holds nothing', () => {
    const held = new HeldBatches(1_000);
    const first = held.create('b1', events(2), onDisk);
    const second = held.create('b2', events(3), onDisk);
    held.keep(first);
    held.keep(second);
    expect(held.takeAll()).toEqual([first, second]);
    expect(held.takeAll()).toEqual([]);
  });

  it('keeps nothing past its cap: such a batch is resent from disk', () => {
    const held = new HeldBatches(100);
    const fits = held.create('b1', events(6), onDisk); // 60 code units
    const over = held.create('b2', events(5), onDisk); // 50 more: 110 > 100
    const small = held.create('b3', events(4), onDisk); // 40 more: 100
    expect([fits, over, small].map((batch) => held.keep(batch))).toEqual([true, false, true]);
    expect(held.takeAll().map((batch) => batch.batchId)).toEqual(['b1', 'b3']);
  });

  it('makes every copy stale on invalidate, kept or already taken, but not later ones', () => {
    const held = new HeldBatches(1_000);
    const taken = held.create('b1', events(1), onDisk);
    const kept = held.create('b2', events(1), onDisk);
    held.keep(taken);
    held.takeAll();
    held.keep(kept);
    // Only the kept copy is handed back: the taken one belongs to the flush that took it.
    expect(held.invalidate()).toEqual([kept]);
    expect(held.isCurrent(taken)).toBe(false);
    expect(held.isCurrent(kept)).toBe(false);
    expect(held.takeAll()).toEqual([]);
    expect(held.isCurrent(held.create('b3', events(1), onDisk))).toBe(true);
  });

  it('starts every batch free of custody and hands released copies back', () => {
    const held = new HeldBatches(1_000);
    const batch = held.create('b1', events(1), onDisk);
    expect(batch.custody).toBe('free');
    expect(batch.failed).toBe(false);
    held.keep(batch);
    expect(held.release()).toEqual([batch]);
    expect(held.release()).toEqual([]);
  });
});
