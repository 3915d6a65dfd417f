import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFakeClock } from '@fieldline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createNetworkVolumeCollector,
  parseNetDev,
} from '../../src/collectors/network-volume-collector.js';
import { createManualScheduler, createRecorder, makeTempDir, removeDir } from './helpers.js';

interface Counters {
  readonly rx: number | bigint;
  readonly tx: number | bigint;
}

function netDev(interfaces: Readonly<Record<string, Counters>>): string {
  const header =
    'Inter-|   Receive                                                |  Transmit\n' +
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
  const lines = Object.entries(interfaces).map(
    ([name, { rx, tx }]) =>
      `${name.padStart(6)}: ${String(rx).padStart(9)}   26678    0    0    0     0          0         0 ${String(tx).padStart(9)}   17664    0    0    0     0       0          0\n`,
  );
  return header + lines.join('');
}

describe('parseNetDev', () => {
  it('reads the byte columns of every interface and skips the headers', () => {
    const text = netDev({
      lo: { rx: 534989820, tx: 534989820 },
      eth0: { rx: 940219472, tx: 2626002 },
    });
    expect(parseNetDev(text)).toEqual([
      { interface: 'lo', bytesIn: 534989820n, bytesOut: 534989820n },
      { interface: 'eth0', bytesIn: 940219472n, bytesOut: 2626002n },
    ]);
  });

  it('handles the old layout with no space after the colon, and 64-bit counters', () => {
    const text =
      'Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n' +
      '  eth1:18446744073709551000 10 0 0 0 0 0 0 77 5 0 0 0 0 0 0\n' +
      'garbage line\n  wlan0: x y\n';
    expect(parseNetDev(text)).toEqual([
      { interface: 'eth1', bytesIn: 18446744073709551000n, bytesOut: 77n },
    ]);
  });
});

describe('createNetworkVolumeCollector on a fake proc tree', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('net');
    await mkdir(join(root, 'net'));
  });
  afterEach(async () => {
    await removeDir(root);
  });

  function writeCounters(interfaces: Readonly<Record<string, Counters>>): Promise<void> {
    return writeFile(join(root, 'net', 'dev'), netDev(interfaces));
  }

  function make(overrides: Parameters<typeof createNetworkVolumeCollector>[0] = {}) {
    const clock = createFakeClock({ nowMs: Date.UTC(2026, 0, 5, 9) });
    const scheduler = createManualScheduler();
    const collector = createNetworkVolumeCollector({
      procRoot: root,
      clock,
      scheduler,
      ...overrides,
    });
    return { clock, scheduler, collector };
  }

  it('is named network-volume in the network scope; unsupported without net/dev', async () => {
    const { collector } = make();
    expect(collector.name).toBe('network-volume');
    expect(collector.scope).toBe('network');
    const support = await collector.support();
    expect(support.supported).toBe(false);
    expect(support.supported ? '' : support.reason).toContain('net/dev');
    await writeCounters({ eth0: { rx: 1, tx: 1 } });
    expect(await collector.support()).toEqual({ supported: true });
  });

  it('polls at the interval the server config gives in start(), else its own default', async () => {
    await writeCounters({ eth0: { rx: 1, tx: 1 } });
    const configured = make();
    await configured.collector.start(createRecorder().emit, { intervalMs: 15_000 });
    expect(configured.scheduler.lastIntervalMs).toBe(15_000);
    await configured.collector.stop();
    const defaulted = make();
    await defaulted.collector.start(createRecorder().emit);
    expect(defaulted.scheduler.lastIntervalMs).toBe(60_000);
    await defaulted.collector.stop();
  });

  it('emits per-interface deltas after a silent baseline, skipping lo and idle interfaces', async () => {
    const { collector, clock, scheduler } = make();
    await writeCounters({
      lo: { rx: 1000, tx: 1000 },
      eth0: { rx: 940219472, tx: 2626002 },
      wlan0: { rx: 5000, tx: 6000 },
      ifb0: { rx: 0, tx: 0 },
    });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    expect(recorder.events).toEqual([]);
    expect(scheduler.lastIntervalMs).toBe(60_000);

    await writeCounters({
      lo: { rx: 9000, tx: 9000 },
      eth0: { rx: 940219472 + 123456, tx: 2626002 + 7890 },
      wlan0: { rx: 5000, tx: 6100 },
      ifb0: { rx: 0, tx: 0 },
    });
    clock.advance(60_000);
    await collector.poll();
    expect(recorder.events).toEqual([
      {
        type: 'activity.network.volume',
        data: { interface: 'eth0', intervalMs: 60_000, bytesIn: 123456, bytesOut: 7890 },
        occurredAtMs: clock.now(),
      },
      {
        type: 'activity.network.volume',
        data: { interface: 'wlan0', intervalMs: 60_000, bytesIn: 0, bytesOut: 100 },
        occurredAtMs: clock.now(),
      },
    ]);
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });

  it('skips an interval whose counter went backwards, then resumes from the new value', async () => {
    const { collector, clock } = make();
    await writeCounters({ eth0: { rx: 50_000, tx: 40_000 } });
    const recorder = createRecorder();
    await collector.start(recorder.emit);

    await writeCounters({ eth0: { rx: 300, tx: 40_500 } });
    clock.advance(60_000);
    await collector.poll();
    expect(recorder.events).toEqual([]);

    await writeCounters({ eth0: { rx: 1300, tx: 41_000 } });
    clock.advance(30_000);
    await collector.poll();
    expect(recorder.events.map((event) => event.data)).toEqual([
      { interface: 'eth0', intervalMs: 30_000, bytesIn: 1000, bytesOut: 500 },
    ]);
    await collector.stop();
  });

  it('baselines interfaces that appear later and forgets ones that vanish', async () => {
    const { collector, clock } = make();
    await writeCounters({ eth0: { rx: 100, tx: 100 } });
    const recorder = createRecorder();
    await collector.start(recorder.emit);

    await writeCounters({ eth0: { rx: 200, tx: 100 }, tun0: { rx: 10_000, tx: 20_000 } });
    clock.advance(60_000);
    await collector.poll();
    expect(recorder.events.map((event) => event.data.interface)).toEqual(['eth0']);

    await writeCounters({ tun0: { rx: 10_500, tx: 20_000 } });
    clock.advance(60_000);
    await collector.poll();
    await writeCounters({ eth0: { rx: 900, tx: 900 }, tun0: { rx: 10_500, tx: 20_001 } });
    clock.advance(60_000);
    await collector.poll();
    expect(recorder.events.map((event) => event.data)).toEqual([
      { interface: 'eth0', intervalMs: 60_000, bytesIn: 100, bytesOut: 0 },
      { interface: 'tun0', intervalMs: 60_000, bytesIn: 500, bytesOut: 0 },
      { interface: 'tun0', intervalMs: 60_000, bytesIn: 0, bytesOut: 1 },
    ]);
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });

  it('reports zero intervals and custom exclusions when configured', async () => {
    const { collector, clock } = make({ emitZeroIntervals: true, excludeInterfaces: ['docker0'] });
    await writeCounters({
      lo: { rx: 1, tx: 1 },
      docker0: { rx: 1, tx: 1 },
      eth0: { rx: 5, tx: 5 },
    });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await writeCounters({
      lo: { rx: 2, tx: 2 },
      docker0: { rx: 9, tx: 9 },
      eth0: { rx: 5, tx: 5 },
    });
    clock.advance(1000);
    await collector.poll();
    expect(recorder.events.map((event) => event.data)).toEqual([
      { interface: 'lo', intervalMs: 1000, bytesIn: 1, bytesOut: 1 },
      { interface: 'eth0', intervalMs: 1000, bytesIn: 0, bytesOut: 0 },
    ]);
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });

  it('emits nothing when the clock did not move forward', async () => {
    const { collector, clock } = make();
    await writeCounters({ eth0: { rx: 100, tx: 100 } });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    await writeCounters({ eth0: { rx: 200, tx: 200 } });
    clock.set(clock.now() - 5000);
    await collector.poll();
    expect(recorder.events).toEqual([]);
    await collector.stop();
  });
});

describe('createNetworkVolumeCollector on this machine', () => {
  it('reads the real /proc/net/dev twice and reports non-negative deltas', async () => {
    const clock = createFakeClock({ nowMs: Date.now() });
    const collector = createNetworkVolumeCollector({
      clock,
      scheduler: createManualScheduler(),
      emitZeroIntervals: true,
    });
    expect(await collector.support()).toEqual({ supported: true });
    const recorder = createRecorder();
    await collector.start(recorder.emit);
    clock.advance(1000);
    await collector.poll();
    const interfaces = parseNetDev(await readFile('/proc/net/dev', 'utf8'))
      .map((entry) => entry.interface)
      .filter((name) => name !== 'lo');
    expect(recorder.events.map((event) => event.data.interface).sort()).toEqual(interfaces.sort());
    for (const event of recorder.events) {
      expect(event.type).toBe('activity.network.volume');
      expect(event.data.interface).not.toBe('lo');
      expect(event.data.bytesIn).toBeGreaterThanOrEqual(0);
      expect(event.data.bytesOut).toBeGreaterThanOrEqual(0);
      expect(event.data.intervalMs).toBe(1000);
    }
    expect(recorder.invalid).toEqual([]);
    await collector.stop();
  });
});
