// Writes dist/pglite-template.tar.gz: a fresh PGlite data directory, made by PGlite's own
// initdb and shut down cleanly, packed as a gzip'd ustar archive. createDatabase unpacks it
// into a new data directory instead of running initdb, which in PGlite takes ~10-25 s and
// ~800 MB of memory (src/db/pglite-template.ts). initdb runs once per installed PGlite
// version: the archive is cached in node_modules/.cache/fieldline/.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';

const OUT = fileURLToPath(new URL('../dist/pglite-template.tar.gz', import.meta.url));
const pgliteRoot = join(dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))), '..');
const { version } = JSON.parse(readFileSync(join(pgliteRoot, 'package.json'), 'utf8'));
const cacheDir = join(pgliteRoot, '..', '..', '.cache', 'fieldline');
const cached = join(cacheDir, `pglite-template-${version}.tar.gz`);

// One ustar header block; every name here is short (base/16384/2608_fsm), so no extensions.
function header(name, { size, type, mode, mtime }) {
  if (Buffer.byteLength(name) > 100) throw new Error(`name too long for ustar: ${name}`);
  const block = Buffer.alloc(512);
  const put = (text, offset, length) => block.write(text, offset, length, 'utf8');
  const num = (value, offset, length) =>
    put(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length);
  put(name, 0, 100);
  num(mode, 100, 8);
  num(0, 108, 8);
  num(0, 116, 8);
  num(size, 124, 12);
  num(mtime, 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\x0000', 257, 8);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

function pack(root) {
  const blocks = [];
  const mtime = Math.floor(Date.now() / 1000);
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const entry = relative(root, path).split('\\').join('/');
      if (statSync(path).isDirectory()) {
        blocks.push(header(`${entry}/`, { size: 0, type: '5', mode: 0o700, mtime }));
        walk(path);
      } else if (entry !== 'postmaster.pid') {
        const data = readFileSync(path);
        blocks.push(header(entry, { size: data.length, type: '0', mode: 0o600, mtime }), data);
        const padding = (512 - (data.length % 512)) % 512;
        if (padding > 0) blocks.push(Buffer.alloc(padding));
      }
    }
  };
  walk(root);
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

if (!existsSync(cached)) {
  const work = mkdtempSync(join(tmpdir(), 'fl-pglite-template-'));
  try {
    const dataDir = join(work, 'db');
    const pglite = new PGlite(dataDir);
    await pglite.waitReady;
    await pglite.close();
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${cached}.tmp`, pack(dataDir));
    renameSync(`${cached}.tmp`, cached);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
copyFileSync(cached, OUT);
process.stdout.write(`PGlite ${version} template: ${OUT}\n`);
