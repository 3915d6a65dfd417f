import { describe, expect, it } from 'vitest';
import { linuxCollectors } from '../../src/collectors/linux-collectors.js';
import { createManualScheduler, createRecorder } from './helpers.js';

describe('linuxCollectors', () => {
  it('returns the four collectors under their config names and scopes', () => {
    const collectors = linuxCollectors({ scheduler: createManualScheduler() });
    expect(collectors.map((collector) => [collector.name, collector.scope])).toEqual([
      ['app-activity', 'activity'],
      ['network-volume', 'network'],
      ['idle', 'activity'],
      ['window-focus', 'activity'],
    ]);
  });

  it('passes per-collector options through', () => {
    expect(() => linuxCollectors({ networkVolume: { intervalMs: -1 } })).toThrow(RangeError);
  });

  it('on this machine, supports process and network collection only when headless', async () => {
    const collectors = linuxCollectors({ scheduler: createManualScheduler() });
    const support = await Promise.all(collectors.map((collector) => collector.support()));
    expect(support[0]).toEqual({ supported: true });
    expect(support[1]).toEqual({ supported: true });
    if (process.env.DISPLAY === undefined) {
      expect(support[2]?.supported).toBe(false);
      expect(support[3]?.supported).toBe(false);
    }
  });
});

describe('the validating recorder the collector tests use', () => {
  it('rejects data the schemas forbid, such as a window title', () => {
    const recorder = createRecorder();
    recorder.emit('activity.window.focused', { app: 'firefox', title: 'Inbox (3)' });
    recorder.emit('activity.network.volume', { intervalMs: 0, bytesIn: -1, bytesOut: 1 });
    expect(recorder.invalid).toHaveLength(2);
  });
});
