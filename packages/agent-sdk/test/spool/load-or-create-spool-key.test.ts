import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateSpoolKey } from '../../src/spool/load-or-create-spool-key.js';
import { isSpoolError } from '../../src/spool/spool-error.js';
import { useTempDirs } from './temp-dir.js';

const tempDir = useTempDirs();

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  return isSpoolError(error) ? error.code : undefined;
}

describe('loadOrCreateSpoolKey', () => {
  it('creates a 32-byte key with mode 0600, then loads the same key', async () => {
    const path = join(await tempDir(), 'state', 'spool.key');
    const created = await loadOrCreateSpoolKey(path);
    expect(created).toHaveLength(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700);
    expect(new Uint8Array(await readFile(path))).toEqual(created);
    expect(await loadOrCreateSpoolKey(path)).toEqual(created);
    expect(await readdir(join(path, '..'))).toEqual(['spool.key']);
  });

  it('gives every concurrent caller the one key that won the race', async () => {
    const path = join(await tempDir(), 'spool.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSpoolKey(path)));
    for (const key of keys) expect(key).toEqual(keys[0]);
    expect(new Uint8Array(await readFile(path))).toEqual(keys[0]);
    expect(await readdir(join(path, '..'))).toEqual(['spool.key']);
  });

  it('refuses a key file readable by group or others', async () => {
    const path = join(await tempDir(), 'spool.key');
    await loadOrCreateSpoolKey(path);
    await chmod(path, 0o644);
    expect(await codeOf(loadOrCreateSpoolKey(path))).toBe('spool_key_permissions');
    await chmod(path, 0o640);
    expect(await codeOf(loadOrCreateSpoolKey(path))).toBe('spool_key_permissions');
    await chmod(path, 0o600);
    expect(await loadOrCreateSpoolKey(path)).toHaveLength(32);
  });

  it('refuses a key file of the wrong size, and never replaces it', async () => {
    const path = join(await tempDir(), 'spool.key');
    await writeFile(path, new Uint8Array(16), { mode: 0o600 });
    expect(await codeOf(loadOrCreateSpoolKey(path))).toBe('spool_key_invalid');
    expect((await readFile(path)).length).toBe(16);
  });

  it('reports a path it cannot create as spool_io', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'not-a-dir'), 'x');
    expect(await codeOf(loadOrCreateSpoolKey(join(dir, 'not-a-dir', 'spool.key')))).toBe(
      'spool_io',
    );
  });
});
