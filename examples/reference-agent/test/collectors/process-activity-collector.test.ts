import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createFakeClock } from '@fieldline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessActivityCollector } from '../../src/collectors/process-activity-collector.js';
import {
  createManualScheduler,
  createRecorder,
  makeTempDir,
  removeDir,
  removeProcess,
  writeProcess,
  writeSelf,
} from './helpers.js';

const AGENT_PID = 4242;

describe('createProcessActivityCollector on a fake proc tree', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('proc');
    await writeSelf(root);
    await writeProcess(root, {
      pid: 1,
      comm: 'systemd',
      ppid: 0,
      uid: 0,
      exe: '/usr/lib/systemd/systemd',
    });
    await writeProcess(root, { pid: 2, comm: 'kthreadd', ppid: 0, uid: 0, cmdline: [] });
    await writeProcess(root, { pid: 15, comm: 'kworker/0:1', ppid: 2, uid: 0, cmdline: [] });
    await writeProcess(root, { pid: AGENT_PID, comm: 'node', uid: 1000, exe: '/usr/bin/node' });
    await writeProcess(root, { pid: 1200, comm: 'bash', uid: 1000, exe: '/usr/bin/bash' });
  });
  afterEach(async () => {
    await removeDir(root);
  });

  function make(overrides: Parameters<typeof createProcessActivityCollector>[0] = {}) {
    const clock = createFakeClock({ nowMs: Date.UTC(2026, 0, 5, 9) });
    const scheduler = createManualScheduler();
    const collector = createProcessActivityCollector({
      procRoot: root,
      clock,
      scheduler,
      agentPid: AGENT_PID,
      uids: [1000],
      ...overrides,
    });
    return { clock, scheduler, collector };
  }

  it('is named app-activity in the activity scope and supported when self/stat is readable', async () => {
    const { collector } = make();
    expect(collector.name).toBe('app-activity');
    expect(collector.scope).toBe('activity');
    expect(await collector.support()).toEqual({ supported: true });
  });

  it('is unsupported with a reason when self/stat is missing, and then emits nothing', async () => {
    await removeDir(`${root}/self`);
    const { collector, scheduler } = make();
    const support = await collector.support();
    expect(support.supported).toBe(false);
    expect(support.supported ? '' : support.reason).toContain('self/stat');
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await writeProcess(root, { pid: 3000, comm: 'firefox', uid: 1000 });
    await collector.poll();
    expect(recorder.events).toEqual([]);
    expect(scheduler.active).toBe(0);
  });

  it('takes a silent baseline, then reports launches and closes with their run time', async () => {
    const { collector, clock, scheduler } = make();
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    expect(recorder.events).toEqual([]);
    expect(scheduler.lastIntervalMs).toBe(2000);

    await writeProcess(root, {
      pid: 3001,
      comm: 'firefox',
      uid: 1000,
      exe: '/usr/lib/firefox/firefox',
    });
    await writeProcess(root, { pid: 3002, comm: 'code', uid: 1000 });
    clock.advance(2000);
    await collector.poll();
    const launchedAt = clock.now();
    expect(recorder.events).toEqual([
      {
        type: 'activity.app.launched',
        data: { app: 'firefox', pid: 3001, executablePath: '/usr/lib/firefox/firefox' },
        occurredAtMs: launchedAt,
      },
      { type: 'activity.app.launched', data: { app: 'code', pid: 3002 }, occurredAtMs: launchedAt },
    ]);

    await removeProcess(root, 3001);
    await removeProcess(root, 1200);
    clock.advance(6000);
    await collector.poll();
    expect(recorder.events.slice(2)).toEqual([
      // bash was running before the baseline: its start was not seen, so no run time.
      { type: 'activity.app.closed', data: { app: 'bash', pid: 1200 }, occurredAtMs: clock.now() },
      {
        type: 'activity.app.closed',
        data: { app: 'firefox', pid: 3001, runDurationMs: 6000 },
        occurredAtMs: clock.now(),
      },
    ]);
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });

  it('skips kernel threads, bracketed names, other uids, the agent and its helpers', async () => {
    const { collector } = make();
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await writeProcess(root, { pid: 5001, comm: 'kworker/1:2', ppid: 2, uid: 1000 });
    await writeProcess(root, { pid: 5002, comm: 'zombie', uid: 1000, cmdline: [] });
    await writeProcess(root, { pid: 5003, comm: '[odd]', uid: 1000 });
    await writeProcess(root, { pid: 5004, comm: 'sshd', uid: 0 });
    await writeProcess(root, { pid: 5005, comm: 'loginctl', ppid: AGENT_PID, uid: 1000 });
    await writeProcess(root, { pid: 5006, comm: 'slack', uid: 1000 });
    await collector.poll();
    expect(recorder.events.map((event) => event.data)).toEqual([{ app: 'slack', pid: 5006 }]);

    for (const pid of [5001, 5002, 5003, 5004, 5005]) await removeProcess(root, pid);
    await collector.poll();
    expect(recorder.events).toHaveLength(1);
    await collector.stop();
  });

  it("reports the agent's children when told to", async () => {
    const { collector } = make({ ignoreAgentChildren: false });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await writeProcess(root, { pid: 5005, comm: 'sleep', ppid: AGENT_PID, uid: 1000 });
    await collector.poll();
    expect(recorder.events.map((event) => event.data)).toEqual([{ app: 'sleep', pid: 5005 }]);
    await collector.stop();
  });

  it.runIf(process.getuid?.() === 0)('by default, as root, watches human uids only', async () => {
    const { collector } = make({ uids: undefined });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await writeProcess(root, { pid: 6001, comm: 'cron', uid: 0 });
    await writeProcess(root, { pid: 6002, comm: 'nobody-svc', uid: 65534 });
    await writeProcess(root, { pid: 6003, comm: 'gimp', uid: 1001 });
    await collector.poll();
    expect(recorder.events.map((event) => event.data)).toEqual([{ app: 'gimp', pid: 6003 }]);
    await collector.stop();
  });

  it('inspects a bounded number of new processes per poll', async () => {
    const { collector } = make({ maxNewProcessesPerPoll: 2 });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    for (let pid = 7001; pid <= 7005; pid++) {
      await writeProcess(root, { pid, comm: `app${pid}`, uid: 1000 });
    }
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = recorder.events.length;
      await collector.poll();
      sizes.push(recorder.events.length - before);
    }
    expect(sizes).toEqual([2, 2, 1, 0]);
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });

  it('polls on its timer, stops cleanly, and emits nothing after stop', async () => {
    const { collector, scheduler } = make({ intervalMs: 500 });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    expect(scheduler.active).toBe(1);
    expect(scheduler.lastIntervalMs).toBe(500);
    await writeProcess(root, { pid: 8001, comm: 'vim', uid: 1000 });
    scheduler.tick();
    await collector.poll();
    expect(recorder.events).toHaveLength(1);

    await collector.stop();
    await collector.stop();
    expect(scheduler.active).toBe(0);
    await writeProcess(root, { pid: 8002, comm: 'emacs', uid: 1000 });
    scheduler.tick();
    await collector.poll();
    expect(recorder.events).toHaveLength(1);
  });

  it('does not start when stopped while its support was being checked', async () => {
    const { collector, scheduler } = make();
    const recorder = createRecorder();
    const starting = collector.start(recorder.emit);
    await collector.stop();
    await starting;
    expect(scheduler.active).toBe(0);
    await writeProcess(root, { pid: 8101, comm: 'vim', uid: 1000 });
    await collector.poll();
    expect(recorder.events).toEqual([]);
  });

  it('starts again from a fresh baseline after a stop', async () => {
    const { collector } = make();
    const first = createRecorder();
    await collector.start(first.emit);
    await collector.stop();
    await writeProcess(root, { pid: 9001, comm: 'thunderbird', uid: 1000 });
    const second = createRecorder();
    await collector.start(second.emit);
    expect(second.events).toEqual([]);
    await removeProcess(root, 9001);
    await collector.poll();
    expect(second.events.map((event) => event.data)).toEqual([{ app: 'thunderbird', pid: 9001 }]);
    expect(first.events).toEqual([]);
    await collector.stop();
  });

  it('rejects a non-positive interval', () => {
    expect(() => make({ intervalMs: 0 })).toThrow(RangeError);
  });
});

describe('createProcessActivityCollector on this machine', () => {
  it('sees a spawned `sleep` launch and close in the real /proc', async () => {
    const uid = process.getuid?.() ?? 0;
    const collector = createProcessActivityCollector({
      uids: [uid],
      // The child is ours; by default the agent's own children are skipped.
      ignoreAgentChildren: false,
      scheduler: createManualScheduler(),
    });
    expect(await collector.support()).toEqual({ supported: true });
    const recorder = createRecorder();
    await collector.start(recorder.emit);

    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    const pid = child.pid;
    expect(pid).toBeTypeOf('number');
    try {
      await collector.poll();
      const launched = recorder.ofType('activity.app.launched').filter((e) => e.data.pid === pid);
      expect(launched).toHaveLength(1);
      expect(launched[0]?.data.app).toBe('sleep');
      expect(String(launched[0]?.data.executablePath)).toMatch(/sleep$/);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    await collector.poll();
    const closed = recorder.ofType('activity.app.closed').filter((e) => e.data.pid === pid);
    expect(closed).toHaveLength(1);
    expect(closed[0]?.data.app).toBe('sleep');
    expect(closed[0]?.data.runDurationMs).toBeTypeOf('number');
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });
});
