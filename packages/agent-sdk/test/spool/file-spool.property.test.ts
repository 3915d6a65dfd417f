import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createFakeClock } from '@fieldline/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFileSpool } from '../../src/spool/file-spool.js';
import type { Spool, SpoolEntryRef } from '../../src/spool/spool.js';
import { useTempDirs } from './temp-dir.js';

const MAX_TOTAL_BYTES = 400;
const MAX_AGE_MS = 1000;
const tempDir = useTempDirs();

type Op =
  | { readonly op: 'write'; readonly bytes: number; readonly items: number }
  | { readonly op: 'remove'; readonly pick: number }
  | { readonly op: 'take'; readonly limit: number }
  | { readonly op: 'advance'; readonly ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      bytes: fc.integer({ min: 0, max: 120 }),
      items: fc.integer({ min: 0, max: 9 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      limit: fc.integer({ min: 0, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 600 }),
    }),
  },
);

async function checkAgainstDisk(spool: Spool, directory: string): Promise<SpoolEntryRef[]> {
  const listed = [...(await spool.list())];
  const ids = listed.map((ref) => ref.id);
  expect(ids).toEqual([...ids].sort());
  expect(new Set(ids).size).toBe(ids.length);

  const names = await readdir(directory);
  expect(names.filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  const onDisk = names.filter((name) => name.endsWith('.spool')).sort();
  expect(onDisk).toEqual(ids.map((id) => `${id}.spool`));
  const sizes = await Promise.all(
    onDisk.map(async (name) => (await stat(join(directory, name))).size),
  );
  expect(listed.map((ref) => ref.bytes)).toEqual(sizes);

  const stats = spool.stats();
  const total = sizes.reduce((sum, size) => sum + size, 0);
  expect(stats.files).toBe(onDisk.length);
  expect(stats.bytes).toBe(total);
  expect(total).toBeLessThanOrEqual(MAX_TOTAL_BYTES);
  const oldest = listed.length === 0 ? undefined : Math.min(...listed.map((r) => r.createdAtMs));
  expect(stats.oldestAtMs).toBe(oldest);
  return listed;
}

describe('createFileSpool (property)', () => {
  it('any interleaving of writes, removes and reads keeps list() sorted and stats equal to the disk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
        async (groups) => {
          const directory = join(await tempDir(), 'spool');
          const clock = createFakeClock({ nowMs: Date.UTC(2026, 0, 1) });
          const spool = createFileSpool({
            directory,
            key: new Uint8Array(32).fill(5),
            clock,
            maxTotalBytes: MAX_TOTAL_BYTES,
            maxAgeMs: MAX_AGE_MS,
          });
          const written = new Map<string, number>(); // id → itemCount
          const removedByUs = new Set<string>();
          let known: SpoolEntryRef[] = [];

          for (const group of groups) {
            // Every op of a group is started at once: their calls overlap.
            await Promise.all(
              group.map(async (step) => {
                switch (step.op) {
                  case 'write': {
                    const ref = await spool.write({
                      kind: step.items % 2 === 0 ? 'events' : 'report',
                      payload: new Uint8Array(step.bytes).fill(step.items),
                      itemCount: step.items,
                    });
                    written.set(ref.id, step.items);
                    return;
                  }
                  case 'remove': {
                    const ref = known[step.pick % Math.max(1, known.length)];
                    if (ref !== undefined && (await spool.remove(ref))) removedByUs.add(ref.id);
                    return;
                  }
                  case 'take': {
                    const entries = await spool.takeOldest(step.limit);
                    expect(entries.length).toBeLessThanOrEqual(step.limit);
                    for (const entry of entries) {
                      expect(entry.payload.every((byte) => byte === entry.itemCount)).toBe(true);
                    }
                    return;
                  }
                  case 'advance':
                    clock.advance(step.ms);
                    return;
                }
              }),
            );
            known = await checkAgainstDisk(spool, directory);

            // Whatever vanished without remove() was trimmed, and its items were counted.
            const live = new Set(known.map((ref) => ref.id));
            let trimmedItems = 0;
            for (const [id, items] of written) {
              if (!live.has(id) && !removedByUs.has(id)) trimmedItems += items;
            }
            expect(spool.stats().dropped).toEqual({
              spool_trimmed: trimmedItems,
              spool_corrupt: 0,
              spool_unreadable: 0,
            });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
