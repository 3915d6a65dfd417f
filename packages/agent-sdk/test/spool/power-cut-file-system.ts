// A SpoolFileSystem over the real one that models what a power cut keeps: file data survives
// only once the file was fsynced, a name (creation, rename, unlink) only once its directory was
// fsynced. At operation `cutAt` the power goes: that and every later operation never settles,
// as if the machine had stopped. `survivors()` then rewrites the spool directory on disk to what
// a restarted machine would find. Only the spool directory is modelled; everything else passes
// through as already durable (the state directory was written before the test began).
import { constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  nodeSpoolFileSystem,
  type SpoolFileHandle,
  type SpoolFileSystem,
} from '../../src/spool/spool-file-system.js';

export interface PowerCutFileSystem {
  readonly fs: SpoolFileSystem;
  /** Operations started so far (the cut one included). */
  operations(): number;
  /** Whether the power went. */
  isCut(): boolean;
  /** Settles when the power goes. */
  readonly cut: Promise<void>;
  /** Cuts the power now (a run that ended before its cut point loses power afterwards). */
  cutNow(): void;
  /** Rewrites the spool directory on disk to what survived the cut. */
  survivors(): Promise<void>;
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

export function createPowerCutFileSystem(
  spoolDirectory: string,
  cutAt: number = Number.POSITIVE_INFINITY,
): PowerCutFileSystem {
  const real = nodeSpoolFileSystem;
  let count = 0;
  let cut = false;
  let onCut: () => void = () => undefined;
  const cutPromise = new Promise<void>((resolve) => {
    onCut = resolve;
  });
  let nextNode = 0;
  // What the running process sees, and what a restart would find.
  const visible = new Map<string, number>();
  const durableNames = new Map<string, number>();
  const durableData = new Map<number, Uint8Array>();
  // Descriptors the dead machine still holds: released when the power goes, so they do not
  // linger until garbage collection.
  const openHandles = new Set<SpoolFileHandle>();
  const powerOff = () => {
    cut = true;
    onCut();
    for (const handle of openHandles) handle.close().catch(() => undefined);
    openHandles.clear();
  };

  // Whatever is there when the test begins is on disk.
  for (const name of safeList(spoolDirectory)) {
    const path = join(spoolDirectory, name);
    if (!statSync(path).isFile()) continue;
    const node = nextNode++;
    visible.set(path, node);
    durableNames.set(name, node);
    durableData.set(node, new Uint8Array(readFileSync(path)));
  }

  const inSpool = (path: string): boolean => dirname(path) === spoolDirectory;

  /** Counts one operation; false when the power is (now) gone. */
  function step(): boolean {
    if (cut) return false;
    count += 1;
    if (count >= cutAt) {
      powerOff();
      return false;
    }
    return true;
  }

  function wrapHandle(handle: SpoolFileHandle, path: string, node: number | 'dir' | undefined) {
    const wrapped: SpoolFileHandle = {
      stat: () => (step() ? handle.stat() : never()),
      read: (buffer, offset, length, position) =>
        step() ? handle.read(buffer, offset, length, position) : never(),
      writeFile: (data) => (step() ? handle.writeFile(data) : never()),
      async sync() {
        if (!step()) return never();
        await handle.sync();
        if (node === 'dir' && path === spoolDirectory) {
          durableNames.clear();
          for (const [name, id] of visible) {
            if (inSpool(name)) durableNames.set(name.slice(spoolDirectory.length + 1), id);
          }
        } else if (typeof node === 'number') {
          durableData.set(node, new Uint8Array(await readFile(path)));
        }
      },
      close() {
        if (!step()) return never();
        openHandles.delete(handle);
        return handle.close();
      },
    };
    return wrapped;
  }

  const fs: SpoolFileSystem = {
    async open(path, flags, mode) {
      if (!step()) return never();
      const existed = visible.has(path);
      const handle = await real.open(path, flags, mode);
      if (cut) {
        // The power went while this open was under way: nobody will ever use it.
        await handle.close();
        return never();
      }
      openHandles.add(handle);
      let node: number | 'dir' | undefined;
      if (path === spoolDirectory) node = 'dir';
      else if (inSpool(path)) {
        if (!existed && (flags & constants.O_CREAT) !== 0) visible.set(path, nextNode++);
        node = visible.get(path);
      }
      return wrapHandle(handle, path, node);
    },
    readdir: (path) => (step() ? real.readdir(path) : never()),
    lstat: (path) => (step() ? real.lstat(path) : never()),
    mkdir: (path, mode) => (step() ? real.mkdir(path, mode) : never()),
    chmod: (path, mode) => (step() ? real.chmod(path, mode) : never()),
    async rename(from, to) {
      if (!step()) return never();
      await real.rename(from, to);
      const node = visible.get(from);
      visible.delete(from);
      if (node !== undefined && inSpool(to)) visible.set(to, node);
      else visible.delete(to);
    },
    async link(from, to) {
      if (!step()) return never();
      await real.link(from, to);
      const node = visible.get(from);
      if (node !== undefined && inSpool(to)) visible.set(to, node);
    },
    async unlink(path) {
      if (!step()) return never();
      await real.unlink(path);
      visible.delete(path);
    },
    async remove(path) {
      if (!step()) return never();
      await real.remove(path);
      visible.delete(path);
    },
    async rmdir(path) {
      if (!step()) return never();
      await real.rmdir(path);
    },
  };

  return {
    fs,
    operations: () => count,
    isCut: () => cut,
    cut: cutPromise,
    cutNow() {
      if (!cut) powerOff();
    },
    async survivors() {
      await rm(spoolDirectory, { recursive: true, force: true });
      await mkdir(spoolDirectory, { recursive: true, mode: 0o700 });
      for (const [name, node] of durableNames) {
        // A name made durable before its data: the file is there, empty.
        await writeFile(join(spoolDirectory, name), durableData.get(node) ?? new Uint8Array(0), {
          mode: 0o600,
        });
      }
    },
  };
}

function safeList(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}
