import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { systemClock } from '@fieldline/core';
import { describe, expect, it } from 'vitest';
import { createFileSpool } from '../../src/spool/file-spool.js';
import { testKey, text, useTempDirs } from './temp-dir.js';

const here = dirname(fileURLToPath(import.meta.url));
const tempDir = useTempDirs();
// esbuild ships with the build tooling; it turns the TypeScript source into one module a plain
// child `node` can import, since agent-sdk's dist may not be built when the tests run.
const esbuild = await import('esbuild').catch(() => undefined);

/** Starts the writer, waits until it has reported `minWrites` completed writes, then SIGKILLs it. */
function runAndKill(modulePath: string, directory: string, minWrites: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(here, 'fixtures', 'spool-writer.mjs'), modulePath, directory],
      { env: { ...process.env, SPOOL_KEY_HEX: Buffer.from(testKey()).toString('hex') } },
    );
    const completed: string[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      completed.push(...lines);
      if (completed.length >= minWrites) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(completed);
      else reject(new Error(`writer exited by itself: ${stderr}`));
    });
  });
}

describe.skipIf(esbuild === undefined)('kill -9 of a real writer process', () => {
  it('loses no completed write and leaves nothing a restart cannot clean up', async () => {
    const root = await tempDir();
    const modulePath = join(root, 'spool.mjs');
    await esbuild!.build({
      entryPoints: [join(here, '../../src/spool/index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: modulePath,
      logLevel: 'silent',
    });
    const directory = join(root, 'spool');
    const acknowledged = new Set<string>();

    for (let cycle = 0; cycle < 8; cycle++) {
      const ids = await runAndKill(pathToFileURL(modulePath).href, directory, 15 + cycle * 7);
      for (const id of ids) acknowledged.add(id);

      const spool = createFileSpool({ directory, key: testKey(), clock: systemClock });
      await spool.recover();
      const listed = new Set((await spool.list()).map((ref) => ref.id));
      for (const id of acknowledged) expect(listed.has(id), `cycle ${cycle}: ${id}`).toBe(true);
      expect((await readdir(directory)).filter((name) => name.startsWith('.tmp-'))).toEqual([]);

      const entries = await spool.takeOldest(Number.MAX_SAFE_INTEGER);
      expect(spool.stats().dropped.spool_corrupt).toBe(0);
      for (const entry of entries) expect(JSON.parse(text(entry.payload))).toHaveProperty('i');
    }
  });
});
