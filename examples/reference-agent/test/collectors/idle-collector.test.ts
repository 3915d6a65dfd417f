import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFakeClock } from '@fieldline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdleCollector } from '../../src/collectors/idle-collector.js';
import {
  createManualScheduler,
  createRecorder,
  makeTempDir,
  removeDir,
  writeScript,
} from './helpers.js';

const NO_SESSION = 'no graphical session with logind idle hints on this machine';

describe('createIdleCollector on this headless machine', () => {
  it('is named idle in the activity scope, unsupported with a reason, and silent', async () => {
    const scheduler = createManualScheduler();
    const collector = createIdleCollector({ scheduler });
    expect(collector.name).toBe('idle');
    expect(collector.scope).toBe('activity');
    expect(await collector.support()).toEqual({ supported: false, reason: NO_SESSION });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await collector.poll();
    expect(recorder.events).toEqual([]);
    expect(scheduler.active).toBe(0);
    await collector.stop();
  });

  it('is unsupported when loginctl is not installed', async () => {
    const collector = createIdleCollector({ loginctlPath: '/nonexistent/loginctl' });
    expect(await collector.support()).toEqual({ supported: false, reason: NO_SESSION });
  });
});

// A stand-in `loginctl` at the process boundary: a real program that prints
// what logind would, from files the test rewrites.
describe('createIdleCollector against a loginctl that reports a graphical session', () => {
  let dir: string;
  let loginctlPath: string;
  beforeEach(async () => {
    dir = await makeTempDir('loginctl');
    loginctlPath = join(dir, 'loginctl');
    await writeScript(
      loginctlPath,
      'dir=$(dirname "$0")\n' +
        'case "$1" in\n' +
        '  list-sessions) cat "$dir/sessions" ;;\n' +
        '  show-session) cat "$dir/session-$2" 2>/dev/null || { echo "Failed to get session: No session \'$2\' known" >&2; exit 1; } ;;\n' +
        '  *) exit 1 ;;\n' +
        'esac\n',
    );
    await writeFile(
      join(dir, 'sessions'),
      '    c1  120 gdm   seat0 tty1\n     7 1000 alice seat0 tty2\n    12 1000 alice       pts/0\n',
    );
    await writeFile(
      join(dir, 'session-c1'),
      'Type=wayland\nClass=greeter\nActive=no\nIdleHint=no\nIdleSinceHint=0\n',
    );
    await writeFile(
      join(dir, 'session-12'),
      'Type=tty\nClass=user\nActive=yes\nIdleHint=no\nIdleSinceHint=0\n',
    );
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  const t0 = Date.UTC(2026, 0, 5, 9);
  function writeSession(idle: boolean, sinceMs: number): Promise<void> {
    return writeFile(
      join(dir, 'session-7'),
      `Type=x11\nClass=user\nActive=yes\nIdleHint=${idle ? 'yes' : 'no'}\nIdleSinceHint=${sinceMs * 1000}\n`,
    );
  }

  function make(overrides: Parameters<typeof createIdleCollector>[0] = {}) {
    const clock = createFakeClock({ nowMs: t0 });
    return createIdleCollector({
      loginctlPath,
      clock,
      scheduler: createManualScheduler(),
      idleThresholdMs: 300_000,
      ...overrides,
    });
  }

  it('is unsupported when only greeter and tty sessions exist', async () => {
    expect(await make().support()).toEqual({ supported: false, reason: NO_SESSION });
  });

  it('reports idle and active transitions timed by logind, after a silent baseline', async () => {
    await writeSession(false, t0 - 3_600_000);
    const collector = make();
    expect(await collector.support()).toEqual({ supported: true });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await collector.poll();
    expect(recorder.events).toEqual([]);

    await writeSession(true, t0 + 600_000);
    await collector.poll();
    await writeSession(true, t0 + 600_000);
    await collector.poll();
    await writeSession(false, t0 + 1_500_000);
    await collector.poll();
    expect(recorder.events).toEqual([
      {
        type: 'activity.system.idle',
        data: { idleThresholdMs: 300_000, activeForMs: 4_200_000 },
        occurredAtMs: t0 + 600_000,
      },
      {
        type: 'activity.system.active',
        data: { idleForMs: 900_000 },
        occurredAtMs: t0 + 1_500_000,
      },
    ]);
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });

  it('watches an explicitly named session, and goes quiet when it ends', async () => {
    await writeSession(true, t0 - 60_000);
    const collector = make({ sessionId: '7' });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await removeDir(join(dir, 'session-7'));
    await collector.poll();
    await writeSession(false, t0 + 10_000);
    // The session came back: a fresh baseline, so still nothing.
    await collector.poll();
    expect(recorder.events).toEqual([]);
    await writeSession(true, t0 + 20_000);
    await collector.poll();
    expect(recorder.events.map((event) => event.data)).toEqual([
      { idleThresholdMs: 300_000, activeForMs: 10_000 },
    ]);
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });

  it('does not report an end of idleness it cannot time', async () => {
    await writeSession(true, 0);
    const collector = make();
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await writeSession(false, 0);
    await collector.poll();
    expect(recorder.events).toEqual([]);
    await collector.stop();
  });
});
