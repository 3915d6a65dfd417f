// What the spool finds on disk can be anything: directories, FIFOs, symlinks, files it may not
// read, files of another key. None of it may crash, hang or stop the spool, none of it is
// deleted silently, and the good entries are still handed out.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  readdir,
  readFile,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeClock } from '@fieldline/core/testing';
import { describe, expect, it } from 'vitest';
import { createFileSpool } from '../../src/spool/file-spool.js';
import { loadOrCreateSpoolKey } from '../../src/spool/load-or-create-spool-key.js';
import { readUntrustedFile } from '../../src/spool/read-untrusted-file.js';
import { nodeSpoolFileSystem, type SpoolFileSystem } from '../../src/spool/spool-file-system.js';
import { MAX_QUARANTINED_FILES } from '../../src/spool/spool-quarantine.js';
import { spoolFiles, testKey, text, useTempDirs, utf8 } from './temp-dir.js';

const START = Date.UTC(2026, 0, 1);
const tempDir = useTempDirs();
// esbuild comes with the build tooling: it bundles src/spool for a child `node` run as another user.
const esbuild = await import('esbuild');
const events = (label: string, itemCount = 1) =>
  ({ kind: 'events', payload: utf8(label), itemCount }) as const;
// Names the spool would take for its own entries.
const entryName = (n: number) => `001767225600000-${String(900_000 + n)}-0000beef.spool`;

async function spoolWith(labels: readonly string[], key = testKey()) {
  const directory = join(await tempDir(), 'spool');
  const clock = createFakeClock({ nowMs: START });
  const writer = createFileSpool({ directory, key, clock });
  const refs = [];
  for (const label of labels) refs.push(await writer.write(events(label)));
  return { directory, clock, refs };
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** The real file system, except that opening `denied` paths fails with EACCES. */
function denying(denied: (path: string) => boolean, renameToo = false): SpoolFileSystem {
  const refuse = (path: string) =>
    Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
  return {
    ...nodeSpoolFileSystem,
    open: (path, flags, mode) =>
      denied(path) ? Promise.reject(refuse(path)) : nodeSpoolFileSystem.open(path, flags, mode),
    rename: (from, to) =>
      renameToo && denied(from)
        ? Promise.reject(refuse(from))
        : nodeSpoolFileSystem.rename(from, to),
  };
}

describe('hostile entries in the spool directory', () => {
  it('quarantines a directory, a FIFO and symlinks under entry names; good entries still go', async () => {
    const { directory, clock } = await spoolWith(['a', 'b', 'c']);
    await mkdir(join(directory, entryName(1)));
    await writeFile(join(directory, entryName(1), 'inside'), 'kept as it was');
    mkfifo(join(directory, entryName(2)));
    await symlink('/etc/passwd', join(directory, entryName(3)));
    await symlink(join(directory, 'nowhere'), join(directory, entryName(4)));
    // A FIFO and a directory under temp names are not ours: left alone, never opened.
    mkfifo(join(directory, '.tmp-fifo00000000'));
    await mkdir(join(directory, '.tmp-dir000000000'));

    const spool = createFileSpool({ directory, key: testKey(), clock });
    const recovered = await spool.recover();
    expect(recovered).toMatchObject({ unreadableQuarantined: 4, corruptQuarantined: 0 });
    expect((await spool.takeOldest()).map((entry) => text(entry.payload))).toEqual(['a', 'b', 'c']);
    expect(spool.stats()).toMatchObject({
      files: 3,
      dropped: { spool_unreadable: 4, spool_corrupt: 0 },
      quarantine: { files: 4 },
    });
    const quarantined = await readdir(join(directory, 'quarantine'));
    expect(
      quarantined.map((name) => name.replace(/^\d{15}-unreadable-[0-9a-f]{8}-/, '')).sort(),
    ).toEqual([1, 2, 3, 4].map(entryName).sort());
    const movedDir = quarantined.find((name) => name.endsWith(entryName(1)))!;
    expect(await readFile(join(directory, 'quarantine', movedDir, 'inside'), 'utf8')).toBe(
      'kept as it was',
    );
    expect((await readdir(directory)).filter((name) => name.startsWith('.tmp-')).sort()).toEqual([
      '.tmp-dir000000000',
      '.tmp-fifo00000000',
    ]);
    // Writing on works.
    await spool.write(events('d'));
    expect(await spoolFiles(directory)).toHaveLength(4);
  });

  it('refuses a FIFO or symlink swapped in after the listing without blocking', async () => {
    const directory = await tempDir();
    mkfifo(join(directory, 'fifo'));
    await symlink('/etc/hostname', join(directory, 'link'));
    await mkdir(join(directory, 'dir'));
    // O_NONBLOCK: without it, this open would wait for a writer forever.
    expect(await readUntrustedFile(nodeSpoolFileSystem, join(directory, 'fifo'))).toEqual({
      status: 'not_regular',
    });
    expect(await readUntrustedFile(nodeSpoolFileSystem, join(directory, 'link'))).toEqual({
      status: 'not_regular',
    });
    expect(await readUntrustedFile(nodeSpoolFileSystem, join(directory, 'dir'))).toEqual({
      status: 'not_regular',
    });
    expect(await readUntrustedFile(nodeSpoolFileSystem, join(directory, 'gone'))).toEqual({
      status: 'missing',
    });
  });

  it('quarantines an entry it may not read (EACCES), and still writes and takes the rest', async () => {
    const { directory, clock, refs } = await spoolWith(['a', 'b', 'c']);
    const denied = `${refs[1]!.id}.spool`;
    const spool = createFileSpool({
      directory,
      key: testKey(),
      clock,
      fileSystem: denying((path) => path.endsWith(denied)),
    });
    expect(await spool.recover()).toMatchObject({ unreadableQuarantined: 1 });
    expect((await spool.takeOldest()).map((entry) => text(entry.payload))).toEqual(['a', 'c']);
    await spool.write(events('d'));
    expect(spool.stats().dropped).toMatchObject({ spool_unreadable: 1, spool_corrupt: 0 });
    expect((await readdir(join(directory, 'quarantine')))[0]).toMatch(
      new RegExp(`-unreadable-[0-9a-f]{8}-${denied}$`),
    );
  });

  it('counts an entry it can neither read nor move once, and never loops on it', async () => {
    const { directory, clock, refs } = await spoolWith(['a', 'b']);
    const denied = `${refs[0]!.id}.spool`;
    const spool = createFileSpool({
      directory,
      key: testKey(),
      clock,
      fileSystem: denying((path) => path.endsWith(denied), true),
    });
    await spool.recover();
    for (let run = 0; run < 3; run++) {
      expect((await spool.takeOldest()).map((entry) => text(entry.payload))).toEqual(['b']);
    }
    expect(spool.stats().dropped.spool_unreadable).toBe(1);
    // It is still there, untouched, for a person to look at.
    expect(await spoolFiles(directory)).toContain(denied);
  });

  it('a real EACCES: files another user wrote 0600 are quarantined by the service user', async () => {
    // Root ignores permission bits, so as root the spool runs as `nobody` in a child process.
    const { directory, refs } = await spoolWith(['mine 1', 'root only', 'mine 2']);
    const rootOnly = `${refs[1]!.id}.spool`;
    const root = join(directory, '..');
    const modulePath = join(root, 'spool.mjs');
    await esbuild.build({
      entryPoints: [fileURLToPath(new URL('../../src/spool/index.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: modulePath,
      logLevel: 'silent',
    });
    const script = fileURLToPath(new URL('./fixtures/take-all.mjs', import.meta.url));
    const env = {
      ...process.env,
      SPOOL_KEY_HEX: Buffer.from(testKey()).toString('hex'),
      NOW_MS: String(START),
    };
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const { uid, gid } = nobody();
      for (const path of [root, modulePath, directory]) await chown(path, uid, gid);
      for (const name of await readdir(directory)) {
        if (name !== rootOnly) await chown(join(directory, name), uid, gid);
      }
    } else {
      await chmod(join(directory, rootOnly), 0o000);
    }
    const command = asRoot
      ? ['runuser', ['-u', 'nobody', '--', process.execPath, script, modulePath, directory]]
      : [process.execPath, [script, modulePath, directory]];
    const run = spawnSync(command[0] as string, command[1] as string[], {
      encoding: 'utf8',
      timeout: 30_000,
      env,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      taken: ['mine 1', 'mine 2'],
      dropped: { spool_trimmed: 0, spool_corrupt: 0, spool_unreadable: 1 },
    });
    const quarantined = await readdir(join(directory, 'quarantine'));
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatch(new RegExp(`-unreadable-[0-9a-f]{8}-${rootOnly}$`));
  });

  it('works through a spool directory and key that are symlinks to another disk', async () => {
    const elsewhere = await tempDir();
    const stateDir = await tempDir();
    await mkdir(join(elsewhere, 'spool'));
    await symlink(join(elsewhere, 'spool'), join(stateDir, 'spool'));
    const key = await loadOrCreateSpoolKey(join(elsewhere, 'spool.key'));
    await symlink(join(elsewhere, 'spool.key'), join(stateDir, 'spool.key'));
    expect(await loadOrCreateSpoolKey(join(stateDir, 'spool.key'))).toEqual(key);
    const clock = createFakeClock({ nowMs: START });
    const spool = createFileSpool({ directory: join(stateDir, 'spool'), key, clock });
    await spool.recover();
    await spool.write(events('via a symlink'));
    expect((await spool.takeOldest()).map((entry) => text(entry.payload))).toEqual([
      'via a symlink',
    ]);
    expect(await spoolFiles(join(elsewhere, 'spool'))).toHaveLength(1);
  });

  it('keeps the quarantine bounded in count', async () => {
    const { directory, clock } = await spoolWith(['good']);
    for (let i = 0; i < MAX_QUARANTINED_FILES + 20; i++) {
      await writeFile(join(directory, entryName(i)), `garbage ${i}`);
    }
    const spool = createFileSpool({ directory, key: testKey(), clock });
    expect(await spool.recover()).toMatchObject({
      corruptQuarantined: MAX_QUARANTINED_FILES + 20,
    });
    expect(spool.stats().quarantine.files).toBe(MAX_QUARANTINED_FILES);
    expect(await readdir(join(directory, 'quarantine'))).toHaveLength(MAX_QUARANTINED_FILES);
    expect((await spool.takeOldest()).map((entry) => text(entry.payload))).toEqual(['good']);
  });

  it('deletes what was quarantined longer ago than maxAgeMs', async () => {
    const { directory, clock } = await spoolWith(['good']);
    await writeFile(join(directory, entryName(1)), 'garbage');
    const spool = createFileSpool({ directory, key: testKey(), clock, maxAgeMs: 60_000 });
    await spool.recover();
    expect(spool.stats().quarantine.files).toBe(1);
    clock.advance(30_000);
    await spool.write(events('later'));
    expect(spool.stats().quarantine.files).toBe(1);
    clock.advance(31_000);
    await spool.write(events('much later'));
    expect(spool.stats().quarantine.files).toBe(0);
    expect(await readdir(join(directory, 'quarantine'))).toEqual([]);
    // Counted once, when it was set aside; its deletion is not a second drop.
    expect(spool.stats().dropped).toMatchObject({ spool_corrupt: 1 });
  });

  it('counts quarantined bytes toward maxTotalBytes, deleting them before entries', async () => {
    const { directory, clock } = await spoolWith(['good 1', 'good 2']);
    await writeFile(join(directory, entryName(1)), new Uint8Array(4_000));
    const spool = createFileSpool({ directory, key: testKey(), clock, maxTotalBytes: 3_000 });
    await spool.recover();
    expect(spool.stats()).toMatchObject({
      files: 2,
      dropped: { spool_corrupt: 1, spool_trimmed: 0 },
      quarantine: { files: 0, bytes: 0 },
    });
  });
});

describe('a lost or damaged spool.key', () => {
  async function stateWithTwelveFiles() {
    const stateDir = await tempDir();
    const keyPath = join(stateDir, 'spool.key');
    const key = await loadOrCreateSpoolKey(keyPath);
    const directory = join(stateDir, 'spool');
    const clock = createFakeClock({ nowMs: START });
    const writer = createFileSpool({ directory, key, clock });
    await writer.recover();
    for (let i = 0; i < 12; i++) await writer.write(events(`batch ${i}`, 25));
    const files = await spoolFiles(directory);
    const contents = await Promise.all(files.map((name) => readFile(join(directory, name))));
    return { stateDir, keyPath, key, directory, clock, files, contents };
  }

  for (const damage of ['missing', 'one bit flipped'] as const) {
    it(`${damage}: keeps all 12 files byte for byte, says so, and takes them back with the old key`, async () => {
      const { keyPath, key, directory, clock, files, contents } = await stateWithTwelveFiles();
      const oldKey = await readFile(keyPath);
      if (damage === 'missing') {
        await unlink(keyPath);
      } else {
        const flipped = Buffer.from(oldKey);
        flipped[5] = (flipped[5] ?? 0) ^ 0x10;
        await writeFile(keyPath, flipped, { mode: 0o600 });
      }
      const newKey = await loadOrCreateSpoolKey(keyPath);
      expect(newKey).not.toEqual(key);
      const spool = createFileSpool({ directory, key: newKey, clock });
      const recovered = await spool.recover();
      expect(recovered).toMatchObject({ orphanedFiles: 12, corruptQuarantined: 0 });
      const mismatch = spool.stats().keyMismatch!;
      expect(mismatch.files).toBe(12);
      expect(spool.stats().dropped).toEqual({
        spool_trimmed: 0,
        spool_corrupt: 0,
        spool_unreadable: 0,
      });
      expect(await spoolFiles(mismatch.directory)).toEqual(files);
      for (const [i, name] of files.entries()) {
        expect(await readFile(join(mismatch.directory, name))).toEqual(contents[i]);
      }
      expect((await stat(mismatch.directory)).mode & 0o777).toBe(0o700);
      // New events are kept under the new key meanwhile.
      await spool.write(events('new key', 3));
      expect(await spool.takeOldest()).toHaveLength(1);

      // The operator restores the old key: the next start takes its files back.
      await writeFile(keyPath, oldKey, { mode: 0o600 });
      const restored = createFileSpool({
        directory,
        key: await loadOrCreateSpoolKey(keyPath),
        clock,
      });
      expect(await restored.recover()).toMatchObject({ adoptedFiles: 12, orphanedFiles: 1 });
      const taken = await restored.takeOldest(100);
      expect(taken.map((entry) => text(entry.payload))).toEqual(
        Array.from({ length: 12 }, (_, i) => `batch ${i}`),
      );
      expect(restored.stats().keyMismatch?.files).toBe(1);
    });
  }

  it('a damaged key-check file next to the right key moves nothing aside', async () => {
    const { directory, key, clock, files } = await stateWithTwelveFiles();
    const checkPath = join(directory, 'key-check');
    const check = await readFile(checkPath);
    check[0] = (check[0] ?? 0) ^ 1;
    await writeFile(checkPath, check);
    const spool = createFileSpool({ directory, key, clock });
    expect(await spool.recover()).toMatchObject({ orphanedFiles: 0, adoptedFiles: 0 });
    expect(spool.stats().keyMismatch).toBeUndefined();
    expect(await spoolFiles(directory)).toEqual(files);
    expect(await readFile(checkPath)).not.toEqual(check);
  });

  it('with a known key, a corrupt entry is quarantined, not taken for a key change', async () => {
    const { directory, key, clock, files } = await stateWithTwelveFiles();
    const only = files[0]!;
    for (const name of files.slice(1)) await unlink(join(directory, name));
    const bytes = await readFile(join(directory, only));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(join(directory, only), bytes);
    const spool = createFileSpool({ directory, key, clock });
    expect(await spool.recover()).toMatchObject({ orphanedFiles: 0 });
    expect(await spool.takeOldest()).toEqual([]);
    expect(spool.stats().dropped.spool_corrupt).toBe(1);
  });
});

function nobody(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}
