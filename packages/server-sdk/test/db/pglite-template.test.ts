import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { openPGlite } from '../../src/db/open-pglite.js';
import { PGLITE_SETTINGS } from '../../src/db/pglite-settings.js';
import {
  extractPGliteTemplate,
  findPGliteTemplate,
  seedPGliteDataDir,
} from '../../src/db/pglite-template.js';
import { tarBytes, tarGz, tarGzDirectory } from '../support/tar-gz.js';

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fl-pglite-template-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function builtTemplate(): string {
  const template = findPGliteTemplate();
  if (template === undefined) throw new Error('no PGlite template: run `npm run build` first');
  return template;
}

async function writeArchive(name: string, bytes: Buffer): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, bytes);
  return path;
}

describe('the PGlite template', () => {
  it('is built next to the bundle', () => {
    expect(builtTemplate()).toMatch(/dist[/\\]pglite-template\.tar\.gz$/);
  });

  it('makes a new data directory that starts, migrates and keeps its data', async () => {
    const dataDir = join(scratch, 'nested', 'db');
    const first = await createDatabase({ dataDir });
    expect(await readFile(join(dataDir, 'PG_VERSION'), 'utf8')).toMatch(/^\d+\n$/);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, 'global', 'pg_control'))).mode & 0o777).toBe(0o600);
    expect((await readdir(join(scratch, 'nested'))).sort()).toEqual(['db']);
    const applied = (await migrateToLatest(first.db)).results ?? [];
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((result) => result.status === 'Success')).toBe(true);
    await first.db.insertInto('tenants').values({ id: 'acme' }).execute();
    await first.close();

    const second = await createDatabase({ dataDir });
    expect((await migrateToLatest(second.db)).results).toEqual([]);
    expect(await second.db.selectFrom('tenants').select('id').execute()).toEqual([{ id: 'acme' }]);
    await second.close();
  });

  it('fills an empty directory that already exists, and leaves a used one alone', async () => {
    const empty = join(scratch, 'empty');
    await mkdir(empty);
    expect(await seedPGliteDataDir(builtTemplate(), empty)).toBe(true);
    expect(await readdir(empty)).toContain('PG_VERSION');

    const used = join(scratch, 'used');
    await mkdir(used);
    await writeFile(join(used, 'notes.txt'), 'mine');
    expect(await seedPGliteDataDir(builtTemplate(), used)).toBe(false);
    expect(await readdir(used)).toEqual(['notes.txt']);
  });

  it('runs PostgreSQL with the memory settings, on disk and in memory', async () => {
    for (const options of [{ dataDir: join(scratch, 'db') }, {}]) {
      const database = await createDatabase(options);
      for (const [name, value] of Object.entries(PGLITE_SETTINGS)) {
        const { rows } = await sql<{ setting: string }>`
          select current_setting(${name}) as setting`.execute(database.db);
        expect(rows[0]?.setting).toBe(value);
      }
      await database.close();
    }
  });
});

describe('unpacking a template', () => {
  const version = { name: 'PG_VERSION', type: '0', data: Buffer.from('18\n') } as const;

  it('refuses an entry that leaves the directory', async () => {
    const archive = await writeArchive(
      'escape.tar.gz',
      tarGz([version, { name: '../escaped', type: '0', data: Buffer.from('x') }]),
    );
    await expect(extractPGliteTemplate(archive, join(scratch, 'db'))).rejects.toThrow(/refusing/);
    expect((await readdir(scratch)).sort()).toEqual(['db', 'escape.tar.gz']);
  });

  it('rejects a truncated or corrupt archive, links, and one without PG_VERSION', async () => {
    const whole = tarBytes([version, { name: 'base/1', type: '0', data: Buffer.alloc(3000, 7) }]);
    const corrupt = Buffer.from(whole);
    corrupt[1030] = 0x41; // inside the second header's name (PG_VERSION takes blocks 0-1)
    const cases: Array<[string, Buffer, RegExp]> = [
      ['cut', gzipSync(whole.subarray(0, 2048)), /truncated/],
      ['corrupt', gzipSync(corrupt), /corrupt/],
      ['link', tarGz([version, { name: 'pg_wal', type: '2' }]), /entry type/],
      ['unversioned', tarGz([{ name: 'base/', type: '5' }]), /no PG_VERSION/],
    ];
    for (const [name, bytes, error] of cases) {
      const archive = await writeArchive(`${name}.tar.gz`, bytes);
      await expect(extractPGliteTemplate(archive, join(scratch, name)), name).rejects.toThrow(
        error,
      );
    }
  });

  it('leaves no half-made data directory when unpacking fails', async () => {
    const archive = await writeArchive(
      'cut.tar.gz',
      gzipSync(
        tarBytes([version, { name: 'base/1', type: '0', data: Buffer.alloc(3000) }]).subarray(
          0,
          2048,
        ),
      ),
    );
    const dataDir = join(scratch, 'db');
    await expect(seedPGliteDataDir(archive, dataDir)).rejects.toThrow(/truncated/);
    expect(await readdir(scratch)).toEqual(['cut.tar.gz']);
  });
});

describe('a template PGlite cannot start from', () => {
  it('is removed again and PGlite makes the database with initdb, after a warning', async () => {
    // The real template, but from a PostgreSQL major version that does not exist.
    const unpacked = join(scratch, 'unpacked');
    await extractPGliteTemplate(builtTemplate(), unpacked);
    await writeFile(join(unpacked, 'PG_VERSION'), '99\n');
    const archive = await writeArchive('future.tar.gz', await tarGzDirectory(unpacked));
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const dataDir = join(scratch, 'db');
    try {
      const pglite = await openPGlite(PGlite, dataDir, {}, archive);
      expect((await pglite.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await pglite.close();
    } finally {
      process.off('warning', onWarning);
    }
    expect(await readFile(join(dataDir, 'PG_VERSION'), 'utf8')).not.toBe('99\n');
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain(
      'FIELDLINE_PGLITE_TEMPLATE',
    );
  }, 240_000);
});
