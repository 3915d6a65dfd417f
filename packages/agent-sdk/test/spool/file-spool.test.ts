import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isInvalidArgumentError } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { describe, expect, it } from 'vitest';
import { createFileSpool, type FileSpoolOptions } from '../../src/spool/file-spool.js';
import type { SpoolEntryRef } from '../../src/spool/spool.js';
import { isSpoolError } from '../../src/spool/spool-error.js';
import { SPOOL_MIN_FILE_BYTES } from '../../src/spool/spool-file-format.js';
import { spoolFiles, testKey, text, useTempDirs, utf8 } from './temp-dir.js';

const START = Date.UTC(2026, 0, 1);
const DAY = 24 * 60 * 60 * 1000;
const tempDir = useTempDirs();

async function setup(overrides: Partial<FileSpoolOptions> = {}) {
  const root = await tempDir();
  const directory = join(root, 'spool');
  const clock = createFakeClock({ nowMs: START });
  const spool = createFileSpool({ directory, key: testKey(), clock, ...overrides });
  return { root, directory, clock, spool };
}

const events = (label: string, itemCount = 1) =>
  ({ kind: 'events', payload: utf8(label), itemCount }) as const;

describe('createFileSpool', () => {
  it('sees what another process on the same directory wrote and removed since it loaded', async () => {
    // A live `run` and a one-shot `track` share the state directory: the run's flush must send
    // what the one-shot spooled, and stop listing what another process already delivered.
    const { spool: live, clock, directory } = await setup();
    await live.write(events('mine'));
    expect(await live.list()).toHaveLength(1);
    const oneShot = createFileSpool({ directory, key: testKey(), clock });
    clock.advance(5);
    const theirs = await oneShot.write(events('theirs', 3));

    const listed = await live.list();
    expect(listed.map((ref) => ref.id)).toContain(theirs.id);
    const taken = await live.takeOldest(10);
    expect(taken.map((entry) => text(entry.payload))).toEqual(['mine', 'theirs']);
    expect(live.stats().files).toBe(2);

    await oneShot.remove(theirs);
    expect((await live.list()).map((ref) => ref.id)).not.toContain(theirs.id);
    expect(live.stats().files).toBe(1);
  });

  it('writes, lists and takes entries oldest first', async () => {
    const { spool, clock, directory } = await setup();
    const refs: SpoolEntryRef[] = [];
    for (const label of ['a', 'b', 'c']) {
      refs.push(await spool.write(events(label, label.charCodeAt(0))));
      clock.advance(1);
    }
    refs.push(await spool.write({ kind: 'report', payload: utf8('d'), itemCount: 1 }));

    const listed = await spool.list();
    expect(listed).toEqual(refs);
    expect(listed.map((ref) => ref.createdAtMs)).toEqual([START, START + 1, START + 2, START + 3]);
    expect(listed.map((ref) => ref.id)).toEqual([...listed.map((ref) => ref.id)].sort());
    expect(listed[0]).toMatchObject({
      kind: 'events',
      itemCount: 97,
      bytes: SPOOL_MIN_FILE_BYTES + 1,
    });

    const taken = await spool.takeOldest();
    expect(taken.map((entry) => text(entry.payload))).toEqual(['a', 'b', 'c', 'd']);
    expect(taken.map((entry) => entry.kind)).toEqual(['events', 'events', 'events', 'report']);
    expect(taken.map((entry) => entry.ref)).toEqual(refs);
    // Taking does not delete: only remove() after delivery does.
    expect(await spoolFiles(directory)).toHaveLength(4);
  });

  it('names files <15-digit ms>-<6-digit seq>-<random>.spool, in creation order within one ms', async () => {
    const { spool, directory } = await setup();
    for (let i = 0; i < 12; i++) await spool.write(events(String(i)));
    const names = await spoolFiles(directory);
    expect(names.every((name) => /^\d{15}-\d{6}-[0-9a-f]{8}\.spool$/.test(name))).toBe(true);
    expect(names.every((name) => name.startsWith(String(START).padStart(15, '0')))).toBe(true);
    const taken = await spool.takeOldest(100);
    expect(taken.map((entry) => text(entry.payload))).toEqual(
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
  });

  it('keeps names in creation order when the wall clock steps back', async () => {
    const { spool, clock } = await setup();
    await spool.write(events('first'));
    clock.set(START - DAY);
    await spool.write(events('second'));
    const taken = await spool.takeOldest();
    expect(taken.map((entry) => text(entry.payload))).toEqual(['first', 'second']);
    expect(taken[1]?.ref.createdAtMs).toBe(START - DAY);
  });

  it('continues the order across spool instances (a restart)', async () => {
    const { spool, directory, clock } = await setup();
    await spool.write(events('before restart'));
    const again = createFileSpool({ directory, key: testKey(), clock });
    await again.write(events('after restart'));
    const taken = await again.takeOldest();
    expect(taken.map((entry) => text(entry.payload))).toEqual(['before restart', 'after restart']);
  });

  it('stores only ciphertext: the plaintext never appears in the file', async () => {
    const { spool, directory } = await setup();
    const secret = 'window focus: org.example.SecretProject — 12345';
    await spool.write(events(secret));
    const [name] = await spoolFiles(directory);
    const bytes = await readFile(join(directory, name!));
    expect(bytes.includes(Buffer.from(secret))).toBe(false);
    expect(bytes.includes(Buffer.from('SecretProject'))).toBe(false);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('FLSP');
  });

  it('creates the directory 0700 and the files 0600, leaving no temp file', async () => {
    const { spool, directory } = await setup();
    await spool.write(events('x'));
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    const names = await spoolFiles(directory);
    expect((await stat(join(directory, names[0]!))).mode & 0o777).toBe(0o600);
    expect((await readdir(directory)).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });

  it('moves entries of a different key aside, never deletes them, and adopts them back', async () => {
    const { spool, directory, clock } = await setup();
    const one = await spool.write(events('one'));
    const two = await spool.write(events('two'));
    const other = createFileSpool({ directory, key: testKey(9), clock });
    expect(await other.takeOldest()).toEqual([]);
    const mismatch = other.stats().keyMismatch;
    expect(other.stats()).toMatchObject({
      files: 0,
      dropped: { spool_corrupt: 0, spool_unreadable: 0 },
      keyMismatch: { files: 2 },
    });
    expect(await spoolFiles(mismatch!.directory)).toEqual([`${one.id}.spool`, `${two.id}.spool`]);
    expect(await spoolFiles(directory)).toEqual([]);
    // New events go on under the new key…
    await other.write(events('three'));
    // …and when the old key comes back, its entries do too, and the new key's move aside.
    const restored = createFileSpool({ directory, key: testKey(), clock });
    const recovered = await restored.recover();
    expect(recovered).toMatchObject({ adoptedFiles: 2, orphanedFiles: 1 });
    expect((await restored.takeOldest()).map((entry) => text(entry.payload))).toEqual([
      'one',
      'two',
    ]);
  });

  it('skips, quarantines and counts a truncated file and a file with one flipped byte', async () => {
    const { spool, directory } = await setup();
    const refs: SpoolEntryRef[] = [];
    for (const label of ['good 1', 'truncated', 'flipped', 'good 2']) {
      refs.push(await spool.write(events(label, 3)));
    }
    await truncate(join(directory, `${refs[1]!.id}.spool`), 40);
    const flippedPath = join(directory, `${refs[2]!.id}.spool`);
    const flipped = await readFile(flippedPath);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 0x80;
    await writeFile(flippedPath, flipped);

    const taken = await spool.takeOldest();
    expect(taken.map((entry) => text(entry.payload))).toEqual(['good 1', 'good 2']);
    expect(spool.stats()).toMatchObject({
      files: 2,
      dropped: { spool_corrupt: 2, spool_trimmed: 0 },
      quarantine: { files: 2 },
    });
    expect(await spoolFiles(directory)).toEqual([`${refs[0]!.id}.spool`, `${refs[3]!.id}.spool`]);
    const quarantined = await readdir(join(directory, 'quarantine'));
    expect(
      quarantined.map((name) => name.replace(/^\d{15}-corrupt-[0-9a-f]{8}-/, '')).sort(),
    ).toEqual([`${refs[1]!.id}.spool`, `${refs[2]!.id}.spool`].sort());
  });

  it('fills a run past corrupt entries, up to maxFilesPerRun', async () => {
    const { spool, directory } = await setup({ maxFilesPerRun: 3 });
    const refs: SpoolEntryRef[] = [];
    for (let i = 0; i < 6; i++) refs.push(await spool.write(events(`e${i}`)));
    await writeFile(join(directory, `${refs[0]!.id}.spool`), 'not a spool file at all');
    expect((await spool.takeOldest()).map((entry) => text(entry.payload))).toEqual([
      'e1',
      'e2',
      'e3',
    ]);
    expect((await spool.takeOldest(1)).map((entry) => text(entry.payload))).toEqual(['e1']);
    expect(await spool.takeOldest(0)).toEqual([]);
    expect(spool.stats().dropped.spool_corrupt).toBe(1);
  });

  it('removes delivered entries', async () => {
    const { spool, directory } = await setup();
    const a = await spool.write(events('a'));
    const b = await spool.write(events('b'));
    expect(await spool.remove(a)).toBe(true);
    expect(await spool.remove(a)).toBe(false);
    expect(await spool.list()).toEqual([b]);
    expect(await spoolFiles(directory)).toEqual([`${b.id}.spool`]);
    await expect(spool.remove({ id: '../../etc/passwd' })).rejects.toSatisfy(
      isInvalidArgumentError,
    );
  });

  it('reports files, bytes, the oldest time and drops', async () => {
    const { spool, clock } = await setup();
    expect(spool.stats()).toEqual({
      files: 0,
      bytes: 0,
      dropped: { spool_trimmed: 0, spool_corrupt: 0, spool_unreadable: 0 },
      quarantine: { files: 0, bytes: 0 },
    });
    await spool.write(events('12345', 5));
    clock.advance(10);
    await spool.write(events('123', 3));
    expect(spool.stats()).toEqual({
      files: 2,
      bytes: 2 * SPOOL_MIN_FILE_BYTES + 8,
      oldestAtMs: START,
      dropped: { spool_trimmed: 0, spool_corrupt: 0, spool_unreadable: 0 },
      quarantine: { files: 0, bytes: 0 },
    });
  });

  describe('trimming', () => {
    it('drops entries older than maxAgeMs and counts their items', async () => {
      const { spool, clock } = await setup();
      await spool.write(events('old', 10));
      clock.advance(20 * DAY);
      await spool.write(events('middle', 20));
      clock.advance(10 * DAY + 1); // 'old' is now 30 days and 1 ms old
      const fresh = await spool.write(events('fresh', 5));
      expect((await spool.list()).map((ref) => ref.itemCount)).toEqual([20, 5]);
      expect(spool.stats().dropped.spool_trimmed).toBe(10);

      clock.advance(30 * DAY + 1);
      // Reads trim too, so a resend run never hands out an expired entry.
      expect(await spool.takeOldest()).toEqual([]);
      expect(spool.stats()).toMatchObject({ files: 0, dropped: { spool_trimmed: 35 } });
      expect(await spool.remove(fresh)).toBe(false);
    });

    it('drops the oldest entries while the total exceeds maxTotalBytes', async () => {
      const entryBytes = SPOOL_MIN_FILE_BYTES + 100;
      const { spool, directory } = await setup({ maxTotalBytes: entryBytes * 3 });
      for (let i = 0; i < 3; i++) await spool.write(events(String(i).repeat(100), i + 1));
      expect(spool.stats()).toMatchObject({ files: 3, bytes: entryBytes * 3 });
      await spool.write(events('3'.repeat(100), 4));
      expect((await spool.list()).map((ref) => ref.itemCount)).toEqual([2, 3, 4]);
      // A bigger entry pushes out as many old ones as it needs.
      await spool.write(events('4'.repeat(200), 5));
      expect((await spool.list()).map((ref) => ref.itemCount)).toEqual([4, 5]);
      expect(spool.stats()).toMatchObject({
        files: 2,
        bytes: entryBytes + SPOOL_MIN_FILE_BYTES + 200,
        dropped: { spool_trimmed: 1 + 2 + 3 },
      });
      expect(await spoolFiles(directory)).toHaveLength(2);
    });

    it('refuses an entry that alone exceeds maxTotalBytes, keeping the others', async () => {
      const { spool } = await setup({ maxTotalBytes: 200 });
      await spool.write(events('small', 1));
      const failure = await spool.write(events('x'.repeat(200), 9)).catch((error) => error);
      expect(isSpoolError(failure) && failure.code).toBe('spool_entry_too_large');
      expect(spool.stats()).toMatchObject({ files: 1, dropped: { spool_trimmed: 0 } });
    });
  });

  describe('consent withdrawal', () => {
    const batch = (scopes: string[]) => ({
      kind: 'events' as const,
      payload: utf8(JSON.stringify(scopes.map((scope, i) => ({ id: i, scope })))),
      itemCount: scopes.length,
    });

    it('filterEntries keeps, drops and rewrites entries, keeping order and age', async () => {
      const { spool, clock, directory } = await setup();
      const mixed = await spool.write(batch(['activity', 'operational', 'activity']));
      clock.advance(1000);
      await spool.write(batch(['activity', 'activity']));
      clock.advance(1000);
      const operational = await spool.write(batch(['operational']));
      const report = await spool.write({ kind: 'report', payload: utf8('{}'), itemCount: 1 });

      const result = await spool.filterEntries((entry) => {
        if (entry.kind !== 'events') return 'keep';
        const all = JSON.parse(text(entry.payload)) as { scope: string }[];
        const kept = all.filter((event) => event.scope !== 'activity');
        if (kept.length === all.length) return 'keep';
        if (kept.length === 0) return 'drop';
        return { payload: utf8(JSON.stringify(kept)), itemCount: kept.length };
      });
      expect(result).toEqual({ kept: 2, dropped: 1, rewritten: 1, removedItems: 4, corrupt: 0 });

      const listed = await spool.list();
      expect(listed.map((ref) => ref.id)).toEqual([mixed.id, operational.id, report.id]);
      expect(listed[0]).toMatchObject({ createdAtMs: START, itemCount: 1 });
      const taken = await spool.takeOldest();
      expect(JSON.parse(text(taken[0]!.payload))).toEqual([{ id: 1, scope: 'operational' }]);
      expect(spool.stats().dropped.spool_trimmed).toBe(0);
      expect(await spoolFiles(directory)).toHaveLength(3);
      const raw = await readFile(join(directory, `${mixed.id}.spool`));
      expect(raw.includes(Buffer.from('activity'))).toBe(false);
    });

    it('rewrite replaces one entry atomically and returns undefined for a gone entry', async () => {
      const { spool, clock } = await setup();
      const ref = await spool.write(events('three events', 3));
      clock.advance(5000);
      const updated = await spool.rewrite(ref, utf8('one event'), 1);
      expect(updated).toEqual({
        id: ref.id,
        kind: 'events',
        createdAtMs: START,
        itemCount: 1,
        bytes: SPOOL_MIN_FILE_BYTES + 9,
      });
      const [entry] = await spool.takeOldest();
      expect(text(entry!.payload)).toBe('one event');
      await spool.remove(ref);
      expect(await spool.rewrite(ref, utf8('x'), 1)).toBeUndefined();
      expect(await spool.list()).toEqual([]);
    });
  });

  it('serializes overlapping operations: a flush writing while a resend reads', async () => {
    const { spool, directory } = await setup();
    const writes = Array.from({ length: 20 }, (_, i) => spool.write(events(`w${i}`)));
    const take = spool.takeOldest(100);
    const removals = writes.slice(0, 5).map(async (write) => spool.remove(await write));
    const refs = await Promise.all(writes);
    expect((await take).map((entry) => text(entry.payload))).toEqual(
      Array.from({ length: 20 }, (_, i) => `w${i}`),
    );
    expect(await Promise.all(removals)).toEqual([true, true, true, true, true]);
    expect((await spool.list()).map((ref) => ref.id)).toEqual(refs.slice(5).map((ref) => ref.id));
    expect(await spoolFiles(directory)).toHaveLength(15);
  });

  it('rejects a write with a spool_io SpoolError when the disk refuses it', async () => {
    const { spool, directory } = await setup();
    await spool.write(events('first'));
    await rm(directory, { recursive: true });
    const failure = await spool.write(events('second')).catch((error) => error);
    expect(isSpoolError(failure) && failure.code).toBe('spool_io');
    expect(failure.details).toMatchObject({ errno: 'ENOENT' });
  });

  it('checks its options and inputs', async () => {
    const clock = createFakeClock();
    const directory = await tempDir();
    expect(() => createFileSpool({ directory, clock, key: new Uint8Array(31) })).toThrow(
      expect.objectContaining({ code: 'spool_key_invalid' }),
    );
    expect(() => createFileSpool({ directory, clock, key: testKey(), maxFilesPerRun: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => createFileSpool({ directory, clock, key: testKey(), maxTotalBytes: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    const spool = createFileSpool({ directory, clock, key: testKey() });
    await expect(spool.write(events('x', -1))).rejects.toSatisfy(isInvalidArgumentError);
    await expect(spool.write(events('x', 1.5))).rejects.toSatisfy(isInvalidArgumentError);
    await expect(
      spool.write({ kind: 'other' as 'events', payload: utf8('x'), itemCount: 1 }),
    ).rejects.toSatisfy(isInvalidArgumentError);
    await expect(spool.takeOldest(-1)).rejects.toSatisfy(isInvalidArgumentError);
  });

  it('keeps its own copy of the key and of the payload', async () => {
    const { directory, clock } = await setup();
    const key = testKey(3);
    const spool = createFileSpool({ directory, key, clock });
    const payload = utf8('original');
    const written = spool.write({ kind: 'events', payload, itemCount: 1 });
    payload.fill(0);
    key.fill(0);
    await written;
    expect(text((await spool.takeOldest())[0]!.payload)).toBe('original');
  });
});
