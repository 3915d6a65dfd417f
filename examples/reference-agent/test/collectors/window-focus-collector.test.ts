import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createFakeClock } from '@fieldline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWindowFocusCollector } from '../../src/collectors/window-focus-collector.js';
import {
  createManualScheduler,
  createRecorder,
  makeTempDir,
  removeDir,
  writeProcess,
  writeScript,
} from './helpers.js';

describe('createWindowFocusCollector on this headless machine', () => {
  it.skipIf(process.env.DISPLAY !== undefined)(
    'is unsupported for want of a DISPLAY and emits nothing',
    async () => {
      const scheduler = createManualScheduler();
      const collector = createWindowFocusCollector({ scheduler });
      expect(collector.name).toBe('window-focus');
      expect(collector.scope).toBe('activity');
      const support = await collector.support();
      expect(support.supported).toBe(false);
      expect(support.supported ? '' : support.reason).toMatch(/DISPLAY/);
      const recorder = createRecorder();
      await collector.start(recorder.emit);
      await collector.poll();
      expect(recorder.events).toEqual([]);
      expect(scheduler.active).toBe(0);
      await collector.stop();
    },
  );

  it('is unsupported when xprop is not installed', async () => {
    const collector = createWindowFocusCollector({
      display: ':0',
      xpropPath: '/nonexistent/xprop',
    });
    expect(await collector.support()).toEqual({
      supported: false,
      reason: 'xprop is not installed (package x11-utils)',
    });
  });

  it('is unsupported when the display cannot be reached', async () => {
    const collector = createWindowFocusCollector({ display: ':97', commandTimeoutMs: 5000 });
    const support = await collector.support();
    expect(support.supported).toBe(false);
    expect(support.supported ? '' : support.reason).toMatch(/:97|xprop/);
  });
});

// A stand-in `xprop` at the process boundary: a real program that answers
// from files the test rewrites, and logs what it was asked.
describe('createWindowFocusCollector against an xprop that reports focus', () => {
  let dir: string;
  let procRoot: string;
  beforeEach(async () => {
    dir = await makeTempDir('xprop');
    procRoot = join(dir, 'proc');
    await writeScript(
      join(dir, 'xprop'),
      'dir=$(dirname "$0")\n' +
        'echo "$@" >> "$dir/calls"\n' +
        'if [ "$1" = "-root" ]; then cat "$dir/active"; exit 0; fi\n' +
        'if [ "$1" = "-id" ]; then cat "$dir/window-$2" 2>/dev/null && exit 0; echo "xprop: error: Invalid window id format: $2." >&2; exit 1; fi\n' +
        'exit 1\n',
    );
    await writeProcess(procRoot, { pid: 2101, comm: 'firefox', exe: '/usr/lib/firefox/firefox' });
    await writeProcess(procRoot, { pid: 2202, comm: 'gnome-terminal-' });
    await writeProcess(procRoot, { pid: 2303, comm: 'gnome-terminal-' });
    await writeWindow('0x3a00007', 2101);
    await writeWindow('0x4c00004', 2202);
    await writeWindow('0x4e00001', 2303);
    await writeWindow('0x5000002', 2101, 'build-server');
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  function writeWindow(id: string, pid: number, machine = hostname()): Promise<void> {
    return writeFile(
      join(dir, `window-${id}`),
      `_NET_WM_PID(CARDINAL) = ${pid}\nWM_CLIENT_MACHINE(STRING) = "${machine}"\n`,
    );
  }
  function focus(id: string): Promise<void> {
    return writeFile(join(dir, 'active'), `_NET_ACTIVE_WINDOW(WINDOW): window id # ${id}\n`);
  }

  function make() {
    const clock = createFakeClock({ nowMs: Date.UTC(2026, 0, 5, 9) });
    const collector = createWindowFocusCollector({
      display: ':0',
      xpropPath: join(dir, 'xprop'),
      procRoot,
      clock,
      scheduler: createManualScheduler(),
    });
    return { clock, collector };
  }

  it('reports the first focus, then each change of application with the time spent', async () => {
    await focus('0x3a00007');
    const { collector, clock } = make();
    expect(await collector.support()).toEqual({ supported: true });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    const start = clock.now();

    clock.advance(2000);
    await collector.poll();
    await focus('0x4c00004');
    clock.advance(40_000);
    await collector.poll();
    // Another terminal window of another process.
    await focus('0x4e00001');
    clock.advance(2000);
    await collector.poll();
    // Desktop (no window), then a remote client's window: not attributable.
    await focus('0x0');
    clock.advance(2000);
    await collector.poll();
    await focus('0x5000002');
    clock.advance(2000);
    await collector.poll();
    await focus('0x3a00007');
    clock.advance(2000);
    await collector.poll();

    expect(recorder.events).toEqual([
      { type: 'activity.window.focused', data: { app: 'firefox', pid: 2101 }, occurredAtMs: start },
      {
        type: 'activity.window.focused',
        data: {
          app: 'gnome-terminal-',
          pid: 2202,
          previousApp: 'firefox',
          previousFocusMs: 42_000,
        },
        occurredAtMs: start + 42_000,
      },
      {
        type: 'activity.window.focused',
        data: {
          app: 'gnome-terminal-',
          pid: 2303,
          previousApp: 'gnome-terminal-',
          previousFocusMs: 2000,
        },
        occurredAtMs: start + 44_000,
      },
      {
        type: 'activity.window.focused',
        data: { app: 'firefox', pid: 2101, previousApp: 'gnome-terminal-', previousFocusMs: 6000 },
        occurredAtMs: start + 50_000,
      },
    ]);
    expect(recorder.invalid).toEqual([]);

    const calls = await readFile(join(dir, 'calls'), 'utf8');
    expect(calls).not.toMatch(/NAME/);
    expect(calls).toContain('-id 0x3a00007 _NET_WM_PID WM_CLIENT_MACHINE');
    await collector.stop();
  });

  it('is unsupported when the window manager publishes no active window', async () => {
    await writeFile(join(dir, 'active'), '_NET_ACTIVE_WINDOW:  not found.\n');
    const { collector } = make();
    expect(await collector.support()).toEqual({
      supported: false,
      reason: 'the window manager does not publish _NET_ACTIVE_WINDOW',
    });
  });
});
