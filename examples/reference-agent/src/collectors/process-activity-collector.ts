import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectorSupport } from '@fieldline/agent-sdk';
import { systemClock } from '@fieldline/core';
import { createPollingCollector, type PollingCollector, type PollingOptions } from './poll-loop.js';
import {
  hasContent,
  listPids,
  parseProcStat,
  readComm,
  readExecutablePath,
  readProcessUid,
  readTextOrUndefined,
} from './proc-fs.js';

/** Options of {@link createProcessActivityCollector}. */
export interface ProcessActivityCollectorOptions extends PollingOptions {
  /**
   * Where the proc filesystem is mounted.
   * @default '/proc'
   */
  readonly procRoot?: string;
  /**
   * Time between polls, in milliseconds. Launch and close times are accurate
   * to about this much; a process that lives shorter than it may be missed.
   * @default 2000
   */
  readonly intervalMs?: number;
  /**
   * Only processes whose real uid is in this list are reported.
   * @default when the agent runs as root: every uid from 1000 up except 65534
   * (`nobody`), i.e. the people using the machine; otherwise only the agent's
   * own uid (one user's agent does not watch another user's applications).
   */
  readonly uids?: readonly number[];
  /**
   * The agent's own pid, never reported.
   * @default process.pid
   */
  readonly agentPid?: number;
  /**
   * Also skip the agent's direct children (the `loginctl`/`xprop` helpers the
   * other collectors run), which are the agent's work, not the user's.
   * @default true
   */
  readonly ignoreAgentChildren?: boolean;
  /**
   * At most this many newly seen processes are inspected per poll; the rest
   * wait for the next poll, so a fork storm cannot make one poll unbounded.
   * @default 256
   */
  readonly maxNewProcessesPerPoll?: number;
}

interface TrackedProcess {
  readonly app: string;
  /** When it was first seen, or `undefined` if it was already running at the baseline. */
  readonly firstSeenMs: number | undefined;
}

type Inspection =
  | { readonly kind: 'tracked'; readonly app: string; readonly executablePath?: string }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'gone' };

// uid_t -1 / 65534 is `nobody`, used by sandboxed services, not by people.
const NOBODY_UID = 65534;
const FIRST_HUMAN_UID = 1000;
const KTHREADD_PID = 2;

function defaultUidFilter(): (uid: number) => boolean {
  const ownUid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (ownUid === undefined || ownUid === 0) {
    return (uid) => uid >= FIRST_HUMAN_UID && uid !== NOBODY_UID && uid !== 2 ** 32 - 1;
  }
  return (uid) => uid === ownUid;
}

/**
 * Creates the `app-activity` collector (scope `activity`): it polls
 * `<procRoot>/[0-9]*` and emits `activity.app.launched { app, pid,
 * executablePath? }` for processes that appeared and `activity.app.closed
 * { app, pid, runDurationMs? }` for those that vanished. `app` is the
 * process's `comm` (its executable name, at most 15 characters); command-line
 * arguments, environment, files and window titles are never read. Kernel
 * threads and the agent itself are skipped.
 *
 * The first poll (at `start`) is a silent baseline. A process already running
 * then gets no `runDurationMs` when it closes, since its start was not seen.
 *
 * @param options - proc root, interval, uid filter, clock and timer seams.
 * @returns the collector; `poll()` takes one sample now.
 * @throws {RangeError} when `intervalMs` or `maxNewProcessesPerPoll` is not positive.
 * @example
 * ```ts
 * const collector = createProcessActivityCollector({ intervalMs: 5000 });
 * if ((await collector.support()).supported) await collector.start(emit);
 * ```
 */
export function createProcessActivityCollector(
  options: ProcessActivityCollectorOptions = {},
): PollingCollector {
  const procRoot = options.procRoot ?? '/proc';
  const clock = options.clock ?? systemClock;
  const agentPid = options.agentPid ?? process.pid;
  const ignoreAgentChildren = options.ignoreAgentChildren ?? true;
  const maxNew = options.maxNewProcessesPerPoll ?? 256;
  if (!Number.isInteger(maxNew) || maxNew <= 0) {
    throw new RangeError(`app-activity: maxNewProcessesPerPoll must be a positive integer`);
  }
  const uidFilter =
    options.uids === undefined
      ? defaultUidFilter()
      : (
          (allowed: ReadonlySet<number>) => (uid: number) =>
            allowed.has(uid)
        )(new Set(options.uids));

  const tracked = new Map<number, TrackedProcess>();
  // Pids looked at and not reported (kernel threads, other users), so they are
  // not read again on every poll.
  const ignored = new Set<number>();
  let baselineDone = false;

  async function inspect(pid: number): Promise<Inspection> {
    if (pid === agentPid || pid === KTHREADD_PID) return { kind: 'ignored' };
    const base = join(procRoot, String(pid));
    const statText = await readTextOrUndefined(join(base, 'stat'));
    if (statText === undefined) return { kind: 'gone' };
    const stat = parseProcStat(statText);
    if (stat === undefined) return { kind: 'gone' };
    if (stat.ppid === KTHREADD_PID) return { kind: 'ignored' };
    if (ignoreAgentChildren && stat.ppid === agentPid) return { kind: 'ignored' };
    const uid = await readProcessUid(procRoot, pid);
    if (uid === undefined) return { kind: 'gone' };
    if (!uidFilter(uid)) return { kind: 'ignored' };
    // Kernel threads (and zombies) have an empty command line.
    const hasCmdline = await hasContent(join(base, 'cmdline'));
    if (hasCmdline === undefined) return { kind: 'gone' };
    if (!hasCmdline) return { kind: 'ignored' };
    const comm = (await readComm(procRoot, pid)) ?? (stat.comm.trim() || undefined);
    if (comm === undefined) return { kind: 'gone' };
    if (comm.startsWith('[') && comm.endsWith(']')) return { kind: 'ignored' };
    const executablePath = await readExecutablePath(procRoot, pid);
    return executablePath === undefined
      ? { kind: 'tracked', app: comm }
      : { kind: 'tracked', app: comm, executablePath };
  }

  async function support(): Promise<CollectorSupport> {
    if (process.platform !== 'linux' && options.procRoot === undefined) {
      return {
        supported: false,
        reason: `the proc filesystem is Linux-only (this is ${process.platform})`,
      };
    }
    try {
      await access(join(procRoot, 'self', 'stat'), constants.R_OK);
      return { supported: true };
    } catch {
      return { supported: false, reason: `${join(procRoot, 'self', 'stat')} is not readable` };
    }
  }

  return createPollingCollector(
    'app-activity',
    'activity',
    options.intervalMs ?? 2000,
    {
      support,
      reset() {
        tracked.clear();
        ignored.clear();
        baselineDone = false;
      },
      async sample(emit) {
        const pids = await listPids(procRoot);
        const nowMs = clock.now();
        const present = new Set(pids);

        for (const [pid, entry] of tracked) {
          if (present.has(pid)) continue;
          tracked.delete(pid);
          if (!baselineDone) continue;
          const runDurationMs =
            entry.firstSeenMs === undefined
              ? undefined
              : Math.max(0, Math.round(nowMs - entry.firstSeenMs));
          emit(
            'activity.app.closed',
            runDurationMs === undefined
              ? { app: entry.app, pid }
              : { app: entry.app, pid, runDurationMs },
            nowMs,
          );
        }
        for (const pid of ignored) if (!present.has(pid)) ignored.delete(pid);

        const fresh = pids.filter((pid) => !tracked.has(pid) && !ignored.has(pid));
        // The baseline must know every running process to name it when it
        // closes; later polls are bounded.
        const batch = baselineDone ? fresh.slice(0, maxNew) : fresh;
        for (const pid of batch) {
          const inspection = await inspect(pid);
          if (inspection.kind === 'ignored') {
            ignored.add(pid);
          } else if (inspection.kind === 'tracked') {
            tracked.set(pid, {
              app: inspection.app,
              firstSeenMs: baselineDone ? nowMs : undefined,
            });
            if (baselineDone) {
              emit(
                'activity.app.launched',
                inspection.executablePath === undefined
                  ? { app: inspection.app, pid }
                  : { app: inspection.app, pid, executablePath: inspection.executablePath },
                nowMs,
              );
            }
          }
        }
        baselineDone = true;
      },
    },
    options,
  );
}
