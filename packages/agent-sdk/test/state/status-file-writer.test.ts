// The status writer against real files: in-process writes land in order, and a conditional
// write decides under the lock another process holds while it replaces the file.
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStatusFileWriter } from '../../src/state/status-file-writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function statusPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fl-status-writer-'));
  dirs.push(dir);
  return join(dir, 'status.json');
}

// Only the fields these tests look at; the writer stores whatever the snapshot is.
function snapshotOf(lifecycle: string, n: number) {
  return { lifecycle, updatedAt: String(n) };
}

function readBack(path: string): { lifecycle: string; updatedAt: string } {
  return JSON.parse(readFileSync(path, 'utf8'));
}

describe('createStatusFileWriter', () => {
  it('ends with the newest snapshot however many writes overlap', async () => {
    const path = statusPath();
    let taken = 0;
    const writer = createStatusFileWriter(path, async () => snapshotOf('running', ++taken));
    const writes = Array.from({ length: 20 }, () => writer.write());
    const last = writer.write();
    await last;
    const final = taken;
    await Promise.all(writes);
    expect(readBack(path).updatedAt).toBe(String(final));
    // Overlapping plain writes share a snapshot instead of each taking one.
    expect(taken).toBeLessThan(21);
  });

  it('decides under the lock: a live owner that wrote meanwhile is not overwritten', async () => {
    const path = statusPath();
    // Another process (a live run) holds the lock while it writes its running snapshot.
    writeFileSync(`${path}.lock`, '12345\n');
    const writer = createStatusFileWriter(path, async () => snapshotOf('stopped', 1));
    const oneShot = writer.write({ skipIf: (current) => current?.lifecycle === 'running' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    writeFileSync(path, JSON.stringify(snapshotOf('running', 99)));
    rmSync(`${path}.lock`);
    expect(await oneShot).toBe(false);
    expect(readBack(path)).toMatchObject({ lifecycle: 'running', updatedAt: '99' });
  });

  it('writes when the condition allows it and releases the lock', async () => {
    const path = statusPath();
    writeFileSync(path, JSON.stringify(snapshotOf('stopped', 1)));
    const writer = createStatusFileWriter(path, async () => snapshotOf('stopped', 2));
    expect(await writer.write({ skipIf: (current) => current?.lifecycle === 'running' })).toBe(
      true,
    );
    expect(readBack(path).updatedAt).toBe('2');
    expect(() => readFileSync(`${path}.lock`)).toThrow(/ENOENT/);
  });

  it('breaks a lock left by a process that died holding it', async () => {
    const path = statusPath();
    writeFileSync(`${path}.lock`, '12345\n');
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, longAgo, longAgo);
    const writer = createStatusFileWriter(path, async () => snapshotOf('stopped', 3));
    expect(await writer.write()).toBe(true);
    expect(readBack(path).updatedAt).toBe('3');
  });
});
