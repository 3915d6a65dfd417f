import { hostname } from 'node:os';
import type { CollectorSupport } from '@fieldline/agent-sdk';
import { systemClock } from '@fieldline/core';
import { runCommand } from './command-runner.js';
import { createPollingCollector, type PollingCollector, type PollingOptions } from './poll-loop.js';
import { readComm } from './proc-fs.js';

/** Options of {@link createWindowFocusCollector}. */
export interface WindowFocusCollectorOptions extends PollingOptions {
  /**
   * Time between checks of the focused window, in milliseconds. Focus times
   * are accurate to about this much.
   * @default 2000
   */
  readonly intervalMs?: number;
  /**
   * The X11 display to ask.
   * @default process.env.DISPLAY
   */
  readonly display?: string;
  /**
   * The `xprop` program.
   * @default 'xprop'
   */
  readonly xpropPath?: string;
  /**
   * Where the proc filesystem is mounted (the focused pid's `comm` names the app).
   * @default '/proc'
   */
  readonly procRoot?: string;
  /**
   * How long one `xprop` call may take, in milliseconds.
   * @default 2000
   */
  readonly commandTimeoutMs?: number;
}

interface Focus {
  readonly app: string;
  readonly pid: number;
  readonly sinceMs: number;
}

const ACTIVE_WINDOW = /_NET_ACTIVE_WINDOW\(WINDOW\):\s*window id #\s*(0x[0-9a-fA-F]+)/;
const WM_PID = /_NET_WM_PID\(CARDINAL\)\s*=\s*(\d+)/;
const CLIENT_MACHINE = /WM_CLIENT_MACHINE\(STRING\)\s*=\s*"([^"]*)"/;

/**
 * Creates the `window-focus` collector (scope `activity`). On X11 it polls
 * `xprop -root _NET_ACTIVE_WINDOW`, then asks that window for `_NET_WM_PID`
 * and `WM_CLIENT_MACHINE` only, and names the app by the pid's `comm`. When
 * the focused application changes it emits `activity.window.focused { app,
 * pid, previousApp?, previousFocusMs? }`; the first focus seen after `start`
 * is emitted once without the `previous…` fields so time per app can be
 * counted from the start. Window titles and contents are never requested.
 *
 * Unsupported (with the reason) without `DISPLAY` (headless, or Wayland
 * only: Wayland gives unprivileged clients no focused-window API), without
 * `xprop`, or when the window manager does not publish `_NET_ACTIVE_WINDOW`.
 *
 * @param options - interval, display, program path, clock and timer seams.
 * @returns the collector; `poll()` checks the focus now.
 * @throws {RangeError} when `intervalMs` is not positive.
 * @example
 * ```ts
 * const focus = createWindowFocusCollector();
 * console.log(await focus.support()); // { supported: false, reason: 'no DISPLAY: …' }
 * ```
 */
export function createWindowFocusCollector(
  options: WindowFocusCollectorOptions = {},
): PollingCollector {
  const clock = options.clock ?? systemClock;
  const xprop = options.xpropPath ?? 'xprop';
  const procRoot = options.procRoot ?? '/proc';
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  const display = options.display ?? process.env.DISPLAY;
  const localHost = hostname();
  let current: Focus | undefined;

  function ask(args: readonly string[]) {
    return runCommand(xprop, args, {
      timeoutMs,
      ...(display === undefined ? {} : { env: { DISPLAY: display } }),
    });
  }

  async function support(): Promise<CollectorSupport> {
    if (process.platform !== 'linux') {
      return {
        supported: false,
        reason: `window focus via X11 is Linux-only here (this is ${process.platform})`,
      };
    }
    if (display === undefined || display === '') {
      return {
        supported: false,
        reason:
          process.env.WAYLAND_DISPLAY === undefined
            ? 'no DISPLAY: no X11 session to read the focused window from (headless machine)'
            : 'Wayland session without X11 DISPLAY: Wayland exposes no focused-window API to unprivileged clients',
      };
    }
    const result = await ask(['-root', '_NET_ACTIVE_WINDOW']);
    if (!result.ok) {
      return {
        supported: false,
        reason:
          result.reason === 'not_found'
            ? 'xprop is not installed (package x11-utils)'
            : `cannot read the focused window on DISPLAY ${display}: ${result.message}`,
      };
    }
    if (!ACTIVE_WINDOW.test(result.stdout)) {
      return {
        supported: false,
        reason: 'the window manager does not publish _NET_ACTIVE_WINDOW',
      };
    }
    return { supported: true };
  }

  async function focusedProcess(): Promise<{ app: string; pid: number } | undefined> {
    const root = await ask(['-root', '_NET_ACTIVE_WINDOW']);
    const windowId = root.ok ? ACTIVE_WINDOW.exec(root.stdout)?.[1] : undefined;
    if (windowId === undefined || Number.parseInt(windowId, 16) === 0) return undefined;
    // Only these two properties are requested: never WM_NAME or _NET_WM_NAME.
    const props = await ask(['-id', windowId, '_NET_WM_PID', 'WM_CLIENT_MACHINE']);
    if (!props.ok) return undefined;
    const pidText = WM_PID.exec(props.stdout)?.[1];
    const pid = pidText === undefined ? Number.NaN : Number(pidText);
    if (!Number.isInteger(pid) || pid <= 0 || pid > 2 ** 31 - 1) return undefined;
    // A remote X client's pid belongs to another machine's process table.
    const machine = CLIENT_MACHINE.exec(props.stdout)?.[1];
    if (machine !== undefined && machine !== localHost) return undefined;
    const app = await readComm(procRoot, pid);
    return app === undefined ? undefined : { app, pid };
  }

  return createPollingCollector(
    'window-focus',
    'activity',
    options.intervalMs ?? 2000,
    {
      support,
      reset() {
        current = undefined;
      },
      async sample(emit) {
        const focused = await focusedProcess();
        // No window, or one without a local pid (desktop, remote client):
        // keep the last known app rather than invent one.
        if (focused === undefined) return;
        if (current !== undefined && current.pid === focused.pid && current.app === focused.app) {
          return;
        }
        const nowMs = clock.now();
        const previous = current;
        current = { app: focused.app, pid: focused.pid, sinceMs: nowMs };
        emit(
          'activity.window.focused',
          previous === undefined
            ? { app: focused.app, pid: focused.pid }
            : {
                app: focused.app,
                pid: focused.pid,
                previousApp: previous.app,
                previousFocusMs: Math.max(0, Math.round(nowMs - previous.sinceMs)),
              },
          nowMs,
        );
      },
    },
    options,
  );
}
