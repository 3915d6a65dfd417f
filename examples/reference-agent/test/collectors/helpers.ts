import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectorEmit } from '@fieldline/agent-sdk';
import { createEventRegistry, type EventRegistryOptions } from '@fieldline/core';
import type { IntervalScheduler } from '../../src/collectors/poll-loop.js';

/** One event a collector emitted. */
export interface EmittedEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly occurredAtMs: number | undefined;
}

// Typed over every string so the collectors' emitted types can be checked as given.
const builtIns: EventRegistryOptions = { builtIns: true };
const registry = createEventRegistry(builtIns);

/**
 * An emit that records every event and validates its data against the
 * built-in event registry, as the agent will.
 */
export function createRecorder(): {
  readonly emit: CollectorEmit;
  readonly events: EmittedEvent[];
  readonly invalid: string[];
  ofType(type: string): EmittedEvent[];
} {
  const events: EmittedEvent[] = [];
  const invalid: string[] = [];
  return {
    events,
    invalid,
    emit(type, data, occurredAtMs) {
      events.push({ type, data, occurredAtMs });
      const result = registry.validateData(type, data);
      if (!result.ok) invalid.push(`${type} ${JSON.stringify(data)}: ${result.error.message}`);
    },
    ofType: (type) => events.filter((event) => event.type === type),
  };
}

/** A scheduler whose timers fire only when the test says so. */
export function createManualScheduler(): IntervalScheduler & {
  readonly active: number;
  readonly lastIntervalMs: number | undefined;
  tick(): void;
} {
  const timers = new Map<number, () => void>();
  let next = 1;
  let lastIntervalMs: number | undefined;
  return {
    get active() {
      return timers.size;
    },
    get lastIntervalMs() {
      return lastIntervalMs;
    },
    setInterval(callback, intervalMs) {
      lastIntervalMs = intervalMs;
      const id = next++;
      timers.set(id, callback);
      return id;
    },
    clearInterval(handle) {
      timers.delete(handle as number);
    },
    tick() {
      for (const callback of timers.values()) callback();
    },
  };
}

/** A made-up process in a fake proc tree. */
export interface FakeProcess {
  readonly pid: number;
  readonly comm: string;
  readonly ppid?: number;
  readonly uid?: number;
  /** NUL-separated arguments; empty for a kernel thread. */
  readonly cmdline?: readonly string[];
  /** Target of the `exe` link; none when omitted. */
  readonly exe?: string;
}

/** Makes a temporary directory that is removed by {@link removeDir}. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `fieldline-${prefix}-`));
}

/** Removes a temporary directory. */
export function removeDir(path: string): Promise<void> {
  return rm(path, { recursive: true, force: true });
}

/** Writes `<root>/<pid>/{comm,stat,status,cmdline,exe}` the way the kernel lays them out. */
export async function writeProcess(root: string, proc: FakeProcess): Promise<void> {
  const dir = join(root, String(proc.pid));
  await mkdir(dir, { recursive: true });
  const ppid = proc.ppid ?? 1;
  const uid = proc.uid ?? 1000;
  await writeFile(join(dir, 'comm'), `${proc.comm}\n`);
  await writeFile(
    join(dir, 'stat'),
    `${proc.pid} (${proc.comm}) S ${ppid} ${proc.pid} ${proc.pid} 0 -1 4194560 ` +
      '1311 0 0 0 2 1 0 0 20 0 1 0 329415 8962048 1024 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n',
  );
  await writeFile(
    join(dir, 'status'),
    `Name:\t${proc.comm}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t${proc.pid}\n` +
      `Pid:\t${proc.pid}\nPPid:\t${ppid}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n` +
      `Gid:\t${uid}\t${uid}\t${uid}\t${uid}\nThreads:\t1\n`,
  );
  const args = proc.cmdline ?? [proc.exe ?? proc.comm];
  await writeFile(join(dir, 'cmdline'), args.length === 0 ? '' : `${args.join('\0')}\0`);
  if (proc.exe !== undefined) await symlink(proc.exe, join(dir, 'exe'));
}

/** Removes a process from a fake proc tree, as if it exited. */
export function removeProcess(root: string, pid: number): Promise<void> {
  return rm(join(root, String(pid)), { recursive: true, force: true });
}

/** Writes `<root>/self/stat`, which `support()` looks for. */
export async function writeSelf(root: string): Promise<void> {
  await mkdir(join(root, 'self'), { recursive: true });
  await writeFile(join(root, 'self', 'stat'), '4242 (node) S 1 4242 4242 0 -1 4194560 0 0\n');
}

/** Writes an executable shell script, a stand-in for a system tool at the process boundary. */
export async function writeScript(path: string, body: string): Promise<void> {
  await writeFile(path, `#!/bin/sh\n${body}`);
  await chmod(path, 0o755);
}
