// Writes gzip'd ustar archives for the PGlite template tests: from a directory, or from
// hand-made entries (to make broken ones).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  readonly name: string;
  readonly type: '0' | '5' | '2';
  readonly data?: Buffer;
}

function header(name: string, type: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  const num = (value: number, offset: number, length: number) =>
    block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length);
  block.write(name, 0, 100);
  num(type === '5' ? 0o700 : 0o600, 100, 8);
  num(0, 108, 8);
  num(0, 116, 8);
  num(size, 124, 12);
  num(0, 136, 12);
  block.write('        ', 148, 8);
  block.write(type, 156, 1);
  block.write('ustar\x0000', 257, 8);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

/** The bytes of an uncompressed archive of `entries`, with its two closing zero blocks. */
export function tarBytes(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    parts.push(header(entry.name, entry.type, data.length), data);
    parts.push(Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A gzip'd archive of `entries`. */
export function tarGz(entries: readonly TarEntry[]): Buffer {
  return gzipSync(tarBytes(entries));
}

/** A gzip'd archive of every file and directory under `root`, as the build packs the template. */
export async function tarGzDirectory(root: string): Promise<Buffer> {
  const entries: TarEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const entry = relative(root, path).split('\\').join('/');
      if ((await stat(path)).isDirectory()) {
        entries.push({ name: `${entry}/`, type: '5' });
        await walk(path);
      } else {
        entries.push({ name: entry, type: '0', data: await readFile(path) });
      }
    }
  };
  await walk(root);
  return tarGz(entries);
}
