import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFakeClock } from '@fieldline/core/testing';
import { describe, expect, it } from 'vitest';
import { createFileSpool } from '../../src/spool/file-spool.js';
import type { SpoolEntryRef } from '../../src/spool/spool.js';
import { encodeSpoolFile } from '../../src/spool/spool-file-format.js';
import { spoolFiles, testKey, text, useTempDirs, utf8 } from './temp-dir.js';

const START = Date.UTC(2026, 0, 1);
const tempDir = useTempDirs();

describe('crash safety (a kill -9 at each step of a write, simulated on real files)', () => {
  it('ignores a temp file that was never renamed, and recover() deletes it', async () => {
    const directory = join(await tempDir(), 'spool');
    const clock = createFakeClock({ nowMs: START });
    const before = createFileSpool({ directory, key: testKey(), clock });
    await before.write({ kind: 'events', payload: utf8('committed'), itemCount: 2 });

    // The process died after writing (even fsyncing) a temp file, before the rename.
    const complete = encodeSpoolFile(
      { kind: 'events', createdAtMs: START, itemCount: 5 },
      utf8('never committed'),
      testKey(),
    );
    await writeFile(join(directory, '.tmp-0123456789ab'), complete, { mode: 0o600 });
    // …and another one died halfway through its write().
    await writeFile(join(directory, '.tmp-ba9876543210'), complete.subarray(0, 20));

    const after = createFileSpool({ directory, key: testKey(), clock });
    expect((await after.list()).map((ref) => ref.itemCount)).toEqual([2]);
    expect(await after.recover()).toEqual({
      tempFilesRemoved: 2,
      corruptQuarantined: 0,
      unreadableQuarantined: 0,
      orphanedFiles: 0,
      adoptedFiles: 0,
      trimmedFiles: 0,
      trimmedItems: 0,
    });
    expect(await spoolFiles(directory)).toHaveLength(1);
    expect((await readdir(directory)).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    expect((await after.takeOldest()).map((entry) => text(entry.payload))).toEqual(['committed']);
    expect(after.stats().dropped).toEqual({
      spool_trimmed: 0,
      spool_corrupt: 0,
      spool_unreadable: 0,
    });
  });

  it('cleans up a final file whose contents never reached the disk, at every length', async () => {
    const directory = join(await tempDir(), 'spool');
    const clock = createFakeClock({ nowMs: START });
    const writer = createFileSpool({ directory, key: testKey(), clock });
    const payload = utf8('{"events":["a","b","c"]}');
    const good = await writer.write({ kind: 'events', payload, itemCount: 3 });
    const victim = await writer.write({ kind: 'events', payload, itemCount: 3 });
    const victimPath = join(directory, `${victim.id}.spool`);
    const full = await readFile(victimPath);

    // A file system without ordered writes can expose a renamed file before its data: every
    // possible truncation must be ignored, quarantined and counted, and never break the spool.
    for (let length = 0; length < full.length; length++) {
      await writeFile(victimPath, full);
      await truncate(victimPath, length);
      const restarted = createFileSpool({ directory, key: testKey(), clock });
      const recovered = await restarted.recover();
      const taken = await restarted.takeOldest();
      expect(
        taken.map((entry) => entry.ref.id),
        `length ${length}`,
      ).toEqual([good.id]);
      expect(text(taken[0]!.payload)).toBe(text(payload));
      expect(recovered.orphanedFiles, `length ${length}`).toBe(0);
      expect(restarted.stats().dropped.spool_corrupt).toBe(1);
      expect(await spoolFiles(directory)).toEqual([`${good.id}.spool`]);
    }
  });

  it('survives a mix of crash leftovers and foreign files in one restart', async () => {
    const directory = join(await tempDir(), 'spool');
    const clock = createFakeClock({ nowMs: START });
    const writer = createFileSpool({ directory, key: testKey(), clock });
    const refs: SpoolEntryRef[] = [];
    for (let i = 0; i < 5; i++) {
      refs.push(await writer.write({ kind: 'events', payload: utf8(`b${i}`), itemCount: 1 }));
    }
    await truncate(join(directory, `${refs[1]!.id}.spool`), 10); // header cut: found by the scan
    await truncate(join(directory, `${refs[3]!.id}.spool`), 47); // tag cut: found on read
    await writeFile(join(directory, '.tmp-deadbeef0000'), 'partial');
    await writeFile(join(directory, 'README.txt'), 'not ours: left alone');

    const restarted = createFileSpool({ directory, key: testKey(), clock });
    expect(await restarted.recover()).toMatchObject({ tempFilesRemoved: 1, corruptQuarantined: 1 });
    expect((await restarted.takeOldest()).map((entry) => text(entry.payload))).toEqual([
      'b0',
      'b2',
      'b4',
    ]);
    expect(restarted.stats()).toMatchObject({
      files: 3,
      dropped: { spool_corrupt: 2 },
      quarantine: { files: 2 },
    });
    expect((await readdir(directory)).sort()).toEqual(
      [
        'README.txt',
        'key-check',
        'quarantine',
        ...[0, 2, 4].map((i) => `${refs[i]!.id}.spool`),
      ].sort(),
    );
  });

  it('recover() trims what aged out while the agent was stopped', async () => {
    const directory = join(await tempDir(), 'spool');
    const clock = createFakeClock({ nowMs: START });
    const writer = createFileSpool({ directory, key: testKey(), clock, maxAgeMs: 1000 });
    await writer.write({ kind: 'events', payload: utf8('old'), itemCount: 7 });
    clock.advance(1001);
    const restarted = createFileSpool({ directory, key: testKey(), clock, maxAgeMs: 1000 });
    expect(await restarted.recover()).toMatchObject({
      tempFilesRemoved: 0,
      corruptQuarantined: 0,
      trimmedFiles: 1,
      trimmedItems: 7,
    });
    expect(restarted.stats().dropped.spool_trimmed).toBe(7);
  });
});
