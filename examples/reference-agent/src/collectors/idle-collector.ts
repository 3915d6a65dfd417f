import type { CollectorSupport } from '@fieldline/agent-sdk';
import { systemClock } from '@fieldline/core';
import { runCommand } from './command-runner.js';
import { createPollingCollector, type PollingCollector, type PollingOptions } from './poll-loop.js';

/** Options of {@link createIdleCollector}. */
export interface IdleCollectorOptions extends PollingOptions {
  /**
   * Time between reads of the session's idle hint, in milliseconds.
   * @default 10000
   */
  readonly intervalMs?: number;
  /**
   * The desktop's idle delay, reported as `idleThresholdMs`. logind does not
   * decide idleness itself: the desktop (GNOME, KDE…) sets the hint after its
   * own delay, so set this to match it.
   * @default 300000 (GNOME's default idle delay, five minutes)
   */
  readonly idleThresholdMs?: number;
  /**
   * The logind session to watch.
   * @default `XDG_SESSION_ID` when it names a graphical session, else the
   * active graphical session `loginctl list-sessions` shows
   */
  readonly sessionId?: string;
  /**
   * The `loginctl` program.
   * @default 'loginctl'
   */
  readonly loginctlPath?: string;
  /**
   * How long one `loginctl` call may take, in milliseconds.
   * @default 2000
   */
  readonly commandTimeoutMs?: number;
}

/** The reason given when there is nothing to watch. */
const NO_SESSION = 'no graphical session with logind idle hints on this machine';
const GRAPHICAL_TYPES = new Set(['x11', 'wayland', 'mir']);
const MAX_SESSIONS_EXAMINED = 16;

interface SessionState {
  readonly idle: boolean;
  /** When the current state began, in ms since the epoch, if known. */
  readonly sinceMs: number | undefined;
}

function parseProperties(stdout: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0) properties.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  return properties;
}

/**
 * Creates the `idle` collector (scope `activity`). Linux has no idle API
 * without a desktop session, so it reads systemd-logind's `IdleHint` and
 * `IdleSinceHint` for the graphical session (`loginctl show-session`), which
 * the desktop maintains from its own input idle timer. When the hint turns on
 * it emits `activity.system.idle { idleThresholdMs, activeForMs? }`; when it
 * turns off, `activity.system.active { idleForMs }`, both timed from logind's
 * own timestamps. Nothing about the input itself is read.
 *
 * Without `loginctl`, a running logind, or a graphical (x11/wayland) session,
 * `support()` says so and the collector emits nothing: it never guesses.
 *
 * @param options - interval, threshold, session, program path, clock and timer seams.
 * @returns the collector; `poll()` reads the hint now.
 * @throws {RangeError} when `intervalMs` is not positive.
 * @example
 * ```ts
 * const idle = createIdleCollector({ idleThresholdMs: 600_000 });
 * const support = await idle.support();
 * if (support.supported) await idle.start(emit);
 * ```
 */
export function createIdleCollector(options: IdleCollectorOptions = {}): PollingCollector {
  const clock = options.clock ?? systemClock;
  const loginctl = options.loginctlPath ?? 'loginctl';
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  const idleThresholdMs = Math.max(0, Math.round(options.idleThresholdMs ?? 300_000));
  let sessionId: string | undefined;
  let state: SessionState | undefined;

  async function showSession(id: string): Promise<Map<string, string> | undefined> {
    const result = await runCommand(
      loginctl,
      [
        'show-session',
        id,
        '-p',
        'Type',
        '-p',
        'Class',
        '-p',
        'Active',
        '-p',
        'IdleHint',
        '-p',
        'IdleSinceHint',
      ],
      { timeoutMs },
    );
    return result.ok ? parseProperties(result.stdout) : undefined;
  }

  function isGraphicalUserSession(properties: Map<string, string>): boolean {
    return (
      GRAPHICAL_TYPES.has(properties.get('Type') ?? '') &&
      (properties.get('Class') ?? 'user') === 'user' &&
      (properties.get('IdleHint') === 'yes' || properties.get('IdleHint') === 'no')
    );
  }

  async function findSession(): Promise<string | undefined> {
    if (options.sessionId !== undefined) {
      const properties = await showSession(options.sessionId);
      return properties !== undefined && isGraphicalUserSession(properties)
        ? options.sessionId
        : undefined;
    }
    const candidates: string[] = [];
    const own = process.env.XDG_SESSION_ID;
    if (own !== undefined && /^[\w-]+$/.test(own)) candidates.push(own);
    const listed = await runCommand(loginctl, ['list-sessions', '--no-legend'], { timeoutMs });
    if (listed.ok) {
      for (const line of listed.stdout.split('\n')) {
        const id = line.trim().split(/\s+/)[0];
        if (id !== undefined && /^[\w-]+$/.test(id) && !candidates.includes(id))
          candidates.push(id);
      }
    }
    let fallback: string | undefined;
    for (const id of candidates.slice(0, MAX_SESSIONS_EXAMINED)) {
      const properties = await showSession(id);
      if (properties === undefined || !isGraphicalUserSession(properties)) continue;
      if (properties.get('Active') === 'yes') return id;
      fallback ??= id;
    }
    return fallback;
  }

  async function readState(id: string): Promise<SessionState | undefined> {
    const properties = await showSession(id);
    if (properties === undefined || !isGraphicalUserSession(properties)) return undefined;
    const sinceMicros = Number(properties.get('IdleSinceHint'));
    const sinceMs =
      Number.isFinite(sinceMicros) && sinceMicros > 0 ? Math.floor(sinceMicros / 1000) : undefined;
    return { idle: properties.get('IdleHint') === 'yes', sinceMs };
  }

  async function support(): Promise<CollectorSupport> {
    if (process.platform !== 'linux') {
      return {
        supported: false,
        reason: `logind idle hints are Linux-only (this is ${process.platform})`,
      };
    }
    const found = await findSession();
    return found === undefined ? { supported: false, reason: NO_SESSION } : { supported: true };
  }

  return createPollingCollector(
    'idle',
    'activity',
    options.intervalMs ?? 10_000,
    {
      support,
      reset() {
        sessionId = undefined;
        state = undefined;
      },
      async sample(emit) {
        sessionId ??= await findSession();
        if (sessionId === undefined) return;
        const current = await readState(sessionId);
        if (current === undefined) {
          // The session ended (logout); look for another from a fresh baseline.
          sessionId = undefined;
          state = undefined;
          return;
        }
        const nowMs = clock.now();
        const before = state;
        if (before === undefined) {
          // Baseline: remember where we are; the change that led here is not ours to report.
          state = current;
          return;
        }
        if (before.idle === current.idle) {
          // Missed a full round trip between polls: keep logind's newer timestamp.
          if (current.sinceMs !== undefined) state = current;
          return;
        }
        const changedAtMs = current.sinceMs ?? nowMs;
        state = { idle: current.idle, sinceMs: changedAtMs };
        const lastedMs =
          before.sinceMs === undefined
            ? undefined
            : Math.max(0, Math.round(changedAtMs - before.sinceMs));
        if (current.idle) {
          emit(
            'activity.system.idle',
            lastedMs === undefined
              ? { idleThresholdMs }
              : { idleThresholdMs, activeForMs: lastedMs },
            changedAtMs,
          );
        } else if (lastedMs !== undefined) {
          emit('activity.system.active', { idleForMs: lastedMs }, changedAtMs);
        }
      },
    },
    options,
  );
}
