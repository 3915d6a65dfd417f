// A fresh PGlite data directory made once at build time (scripts/build-pglite-template.mjs),
// so that opening a new database copies ~40 MB of files instead of running initdb. PGlite's
// initdb runs in WebAssembly with a second PostgreSQL instance and a copy of its heap, which
// takes ~10-25 s and ~800 MB of resident memory, which the process gives back late if at all.
import { existsSync } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
} from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

/** File name of the template, next to the bundle in `dist/`. */
export const PGLITE_TEMPLATE_FILE = 'pglite-template.tar.gz';

const BLOCK = 512;
// PGlite runs initdb where this file is missing, so a template must have it.
const MARKER = 'PG_VERSION';
// The lock file of a running server; a template never needs one.
const SKIPPED = new Set(['postmaster.pid']);

/**
 * Where the template is: next to this module in the bundle, or in the package's `dist/` when
 * the module runs from source (the tests).
 *
 * @returns its path, or `undefined` when the build made none.
 */
export function findPGliteTemplate(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, PGLITE_TEMPLATE_FILE), join(here, '..', '..', 'dist', PGLITE_TEMPLATE_FILE)]
    .filter((candidate) => existsSync(candidate))
    .at(0);
}

/**
 * Whether `directory` is missing or empty: only such a directory is made from the template.
 *
 * @param directory - a data directory.
 * @returns true when it has no entries.
 */
export async function isNewDataDir(directory: string): Promise<boolean> {
  try {
    return (await readdir(directory)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

// Hands out the bytes of a stream in the sizes the reader asks for.
class ByteReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(source: AsyncIterable<Buffer>) {
    this.#chunks = source[Symbol.asyncIterator]();
  }

  // Up to `max` bytes, at least one; undefined at the end of the stream.
  async read(max: number): Promise<Buffer | undefined> {
    while (this.#buffer.length === 0) {
      const next = await this.#chunks.next();
      if (next.done) return undefined;
      this.#buffer = next.value;
    }
    const out = this.#buffer.subarray(0, max);
    this.#buffer = this.#buffer.subarray(out.length);
    return out;
  }

  // Exactly `length` bytes; undefined when the stream ends before the first one.
  async readExactly(length: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < length) {
      const part = await this.read(length - got);
      if (part === undefined) {
        if (got === 0) return undefined;
        throw new Error('PGlite template: the archive is truncated.');
      }
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octal(header: Buffer, start: number, length: number): number {
  const text = field(header, start, length).trim();
  if (!/^[0-7]+$/.test(text)) throw new Error('PGlite template: a header has a bad number.');
  return Number.parseInt(text, 8);
}

function checksumMatches(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return octal(header, 148, 8) === sum;
}

// The archive's name as a path inside `root`, refusing anything that would leave it.
function entryPath(root: string, header: Buffer): { relative: string; path: string } {
  const prefix = field(header, 345, 155);
  const name = prefix === '' ? field(header, 0, 100) : `${prefix}/${field(header, 0, 100)}`;
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.some((part) => part === '..' || part.includes(sep))) {
    throw new Error(`PGlite template: refusing the entry ${JSON.stringify(name)}.`);
  }
  return { relative: parts.join('/'), path: join(root, ...parts) };
}

async function copyBytes(reader: ByteReader, handle: FileHandle | undefined, size: number) {
  let left = size;
  while (left > 0) {
    const piece = await reader.read(left);
    if (piece === undefined) throw new Error('PGlite template: the archive is truncated.');
    if (handle !== undefined) await handle.write(piece);
    left -= piece.length;
  }
}

/**
 * Unpacks the template (a gzip'd ustar archive of a data directory) into `directory`, one
 * piece at a time so that the whole archive is never in memory. Directories are made 0700
 * and files 0600, as PostgreSQL keeps its own.
 *
 * @param archive - path of the template.
 * @param directory - where to unpack it; missing or empty.
 * @throws Error when the archive is truncated, corrupt, has no `PG_VERSION`, or names a path
 *   outside `directory`.
 */
export async function extractPGliteTemplate(archive: string, directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const gunzip = createGunzip();
  gunzip.end(await readFile(archive));
  const reader = new ByteReader(gunzip);
  let hasMarker = false;
  for (;;) {
    const header = await reader.readExactly(BLOCK);
    if (header === undefined || header.every((byte) => byte === 0)) break;
    if (!checksumMatches(header)) throw new Error('PGlite template: a header is corrupt.');
    const { relative, path } = entryPath(directory, header);
    const type = String.fromCharCode(header[156] as number);
    const size = octal(header, 124, 12);
    if (type === '5') {
      await mkdir(path, { recursive: true, mode: 0o700 });
    } else if (type === '0' || type === '\0') {
      hasMarker ||= relative === MARKER;
      if (SKIPPED.has(relative)) {
        await copyBytes(reader, undefined, size);
      } else {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        const handle = await open(path, 'w', 0o600);
        try {
          await copyBytes(reader, handle, size);
        } finally {
          await handle.close();
        }
      }
    } else {
      throw new Error(`PGlite template: unexpected entry type ${JSON.stringify(type)}.`);
    }
    await copyBytes(reader, undefined, (BLOCK - (size % BLOCK)) % BLOCK);
  }
  if (!hasMarker) throw new Error(`PGlite template: the archive has no ${MARKER}.`);
}

/**
 * Makes a new data directory from the template: unpacked beside it, then renamed into place,
 * so that a start cut short never leaves a half-made database (only a stray staging
 * directory). Does nothing to a directory that has entries.
 *
 * @param archive - path of the template.
 * @param directory - the data directory.
 * @returns true when the directory was made from the template, false when it was not new.
 * @throws Error when the template cannot be unpacked; the directory is then as it was.
 */
export async function seedPGliteDataDir(archive: string, directory: string): Promise<boolean> {
  if (!(await isNewDataDir(directory))) return false;
  await mkdir(dirname(directory), { recursive: true });
  const staging = `${directory}.template-${process.pid}-${Date.now()}`;
  try {
    await extractPGliteTemplate(archive, staging);
    // Only an empty directory is here; rename cannot replace one everywhere (Windows).
    await rmdir(directory).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(staging, directory);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return true;
}
