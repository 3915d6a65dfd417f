import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/**
 * Gives each test a fresh directory under os.tmpdir(), removed after the test.
 *
 * @returns a function that makes one more temp directory.
 */
export function useTempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fieldline-spool-'));
    made.push(dir);
    return dir;
  };
}

/** The `.spool` file names in a directory, sorted. */
export async function spoolFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.spool')).sort();
}

/** A deterministic test key: 32 bytes all equal to `fill`. */
export function testKey(fill = 7): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A string from UTF-8 bytes. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
