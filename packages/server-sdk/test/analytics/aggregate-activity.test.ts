import { describe, expect, it } from 'vitest';
import { affectedDays } from '../../src/analytics/affected-days.js';
import { aggregateActivity } from '../../src/analytics/aggregate-activity.js';
import { rollupActivity } from '../../src/analytics/rollup-activity.js';
import { ev, HOUR, MIN } from './activity-events.js';

const focus = (at: string, app: string, extra = {}) =>
  ev('activity.window.focused', at, { app }, extra);
const idle = (at: string, idleThresholdMs: number) =>
  ev('activity.system.idle', at, { idleThresholdMs });
const active = (at: string, idleForMs: number) => ev('activity.system.active', at, { idleForMs });

function pick(rows: ReturnType<typeof aggregateActivity>) {
  return rows.map((r) => ({
    day: r.day,
    app: r.app,
    activeMs: r.activeMs,
    idleMs: r.idleMs,
    launches: r.launches,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
  }));
}

const zero = { activeMs: 0, idleMs: 0, launches: 0, bytesIn: 0, bytesOut: 0 };

describe('aggregateActivity: active time', () => {
  it('counts a focus interval until the next focus change', () => {
    const rows = aggregateActivity([
      focus('2026-05-04T09:00:00Z', 'editor'),
      focus('2026-05-04T09:05:00Z', 'browser'),
      focus('2026-05-04T09:07:30Z', 'editor'),
      focus('2026-05-04T09:08:00Z', 'editor'),
    ]);
    expect(pick(rows)).toEqual([
      { ...zero, day: '2026-05-04', app: 'browser', activeMs: 150_000 },
      // 5 min, then 30 s, then the last focus open for the 15 min cap.
      { ...zero, day: '2026-05-04', app: 'editor', activeMs: 5 * MIN + 30_000 + 15 * MIN },
    ]);
  });

  it('caps an open interval at maxOpenIntervalMs', () => {
    const rows = aggregateActivity(
      [focus('2026-05-04T09:00:00Z', 'editor'), focus('2026-05-04T12:00:00Z', 'mail')],
      { maxOpenIntervalMs: 10 * MIN },
    );
    expect(rows.map((r) => [r.app, r.activeMs])).toEqual([
      ['editor', 10 * MIN],
      ['mail', 10 * MIN],
    ]);
  });

  it('moves the idle threshold from active to idle and resumes the app after system.active', () => {
    // Focus at 9:00; no input from 9:02 (idle reported at 9:07, threshold 5 min);
    // back at 9:10 having been idle 3 min since the idle event. The focus span
    // runs to 9:15 (cap); 9:02–9:10 is idle, the rest is active.
    const rows = aggregateActivity([
      focus('2026-05-04T09:00:00Z', 'editor'),
      idle('2026-05-04T09:07:00Z', 5 * MIN),
      active('2026-05-04T09:10:00Z', 3 * MIN),
    ]);
    expect(pick(rows)).toEqual([
      { ...zero, day: '2026-05-04', app: '', idleMs: 8 * MIN },
      { ...zero, day: '2026-05-04', app: 'editor', activeMs: 2 * MIN + 5 * MIN },
    ]);
  });

  it('assumes an unfinished idle period for at most the cap', () => {
    const rows = aggregateActivity([
      focus('2026-05-04T09:00:00Z', 'editor'),
      idle('2026-05-04T09:05:00Z', 1 * MIN),
    ]);
    expect(pick(rows)).toEqual([
      { ...zero, day: '2026-05-04', app: '', idleMs: 16 * MIN },
      { ...zero, day: '2026-05-04', app: 'editor', activeMs: 4 * MIN },
    ]);
  });

  it('orders by occurredAt then seq, whatever the offset the timestamp is written in', () => {
    const rows = aggregateActivity([
      focus('2026-05-04T11:00:00+02:00', 'b', { seq: 8 }),
      focus('2026-05-04T09:00:00Z', 'a', { seq: 7 }),
      focus('2026-05-04T09:01:00Z', 'c', { seq: 9 }),
    ]);
    // a and b at the same instant: b (seq 8) comes after a, so a's span is empty.
    expect(rows.map((r) => [r.app, r.activeMs])).toEqual([
      ['b', MIN],
      ['c', 15 * MIN],
    ]);
  });
});

describe('aggregateActivity: days and time zones', () => {
  it('splits an interval at UTC midnight', () => {
    const rows = aggregateActivity([focus('2026-05-04T23:50:00Z', 'editor')]);
    expect(rows.map((r) => [r.day, r.activeMs])).toEqual([
      ['2026-05-04', 10 * MIN],
      ['2026-05-05', 5 * MIN],
    ]);
  });

  it('splits at the tenant’s local midnight', () => {
    // 03:50Z is 23:50 in New York (EDT, -04:00).
    const rows = aggregateActivity([focus('2026-05-05T03:50:00Z', 'editor')], {
      timeZone: 'America/New_York',
    });
    expect(rows.map((r) => [r.day, r.activeMs])).toEqual([
      ['2026-05-04', 10 * MIN],
      ['2026-05-05', 5 * MIN],
    ]);
  });

  it('gives a spring-forward day 23 hours and a fall-back day 25 hours in America/New_York', () => {
    // Idle from 2026-03-07 23:00 EST to 2026-03-09 01:00 EDT, and from
    // 2026-10-31 23:00 EDT to 2026-11-02 01:00 EST, told by system.active.
    const spring = Date.parse('2026-03-09T05:00:00Z') - Date.parse('2026-03-08T04:00:00Z');
    const fall = Date.parse('2026-11-02T06:00:00Z') - Date.parse('2026-11-01T03:00:00Z');
    const rows = aggregateActivity(
      [active('2026-03-09T05:00:00Z', spring), active('2026-11-02T06:00:00Z', fall)],
      { timeZone: 'America/New_York' },
    );
    expect(rows.map((r) => [r.day, r.idleMs])).toEqual([
      ['2026-03-07', 1 * HOUR],
      ['2026-03-08', 23 * HOUR],
      ['2026-03-09', 1 * HOUR],
      ['2026-10-31', 1 * HOUR],
      ['2026-11-01', 25 * HOUR],
      ['2026-11-02', 1 * HOUR],
    ]);
  });

  it('names the days an event can change', () => {
    const options = { timeZone: 'America/New_York' };
    expect(affectedDays(focus('2026-03-09T03:50:00Z', 'x'), options)).toEqual([
      '2026-03-08',
      '2026-03-09',
    ]);
    expect(affectedDays(active('2026-03-09T05:00:00Z', 30 * HOUR), options)).toEqual([
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
    ]);
    expect(affectedDays(ev('activity.app.launched', '2026-03-09T12:00:00Z', { app: 'x' }))).toEqual(
      ['2026-03-09'],
    );
    expect(affectedDays(ev('job.report', '2026-03-09T12:00:00Z', {}))).toEqual([]);
  });

  it('names the next day when a late system.active cuts an assumed idle period there', () => {
    const before = [idle('2026-05-04T23:50:00Z', 0)];
    const late = active('2026-05-04T23:55:00Z', 5 * MIN);
    expect(aggregateActivity(before).map((r) => [r.day, r.idleMs])).toEqual([
      ['2026-05-04', 10 * MIN],
      ['2026-05-05', 5 * MIN],
    ]);
    expect(aggregateActivity([...before, late]).map((r) => [r.day, r.idleMs])).toEqual([
      ['2026-05-04', 5 * MIN],
    ]);
    expect(affectedDays(late)).toEqual(['2026-05-04', '2026-05-05']);
  });

  it('refuses an unknown time zone and a bad cap', () => {
    expect(() => aggregateActivity([], { timeZone: 'Mars/Olympus' })).toThrow(/IANA time zone/);
    expect(() => aggregateActivity([], { maxOpenIntervalMs: 0 })).toThrow(/maxOpenIntervalMs/);
  });
});

describe('aggregateActivity: launches, network, duplicates, invalid input', () => {
  it('counts launches per app on the day they happened', () => {
    const rows = aggregateActivity([
      ev('activity.app.launched', '2026-05-04T10:00:00Z', { app: 'editor', pid: 10 }),
      ev('activity.app.launched', '2026-05-04T11:00:00Z', { app: 'editor' }),
      ev('activity.app.closed', '2026-05-04T12:00:00Z', { app: 'editor', runDurationMs: 5 }),
      ev('activity.app.launched', '2026-05-05T10:00:00Z', { app: 'editor' }),
    ]);
    expect(pick(rows)).toEqual([
      { ...zero, day: '2026-05-04', app: 'editor', launches: 2 },
      { ...zero, day: '2026-05-05', app: 'editor', launches: 1 },
    ]);
  });

  it('splits network volume across midnight in proportion, keeping the total exact', () => {
    // 10 minutes ending at 00:04: 6 min before midnight, 4 after.
    const rows = aggregateActivity([
      ev('activity.network.volume', '2026-05-05T00:04:00Z', {
        intervalMs: 10 * MIN,
        bytesIn: 1001,
        bytesOut: 9,
      }),
    ]);
    expect(pick(rows)).toEqual([
      { ...zero, day: '2026-05-04', app: '', bytesIn: 600, bytesOut: 5 },
      { ...zero, day: '2026-05-05', app: '', bytesIn: 401, bytesOut: 4 },
    ]);
  });

  it('counts an event delivered twice once, and ignores invalid and unknown events', () => {
    const launch = ev('activity.app.launched', '2026-05-04T10:00:00Z', { app: 'editor' });
    const rows = aggregateActivity([
      launch,
      launch,
      { ...launch },
      ev('activity.app.launched', '2026-05-04T10:00:00Z', { app: 'editor', title: 'secret' }),
      ev('activity.app.launched', 'yesterday', { app: 'editor' }),
      ev('job.report', '2026-05-04T10:00:00Z', {}),
      { deviceId: 'dev-1', event: null },
      { deviceId: '', event: launch.event },
    ]);
    expect(pick(rows)).toEqual([{ ...zero, day: '2026-05-04', app: 'editor', launches: 1 }]);
  });

  it('keeps devices apart', () => {
    const rows = aggregateActivity([
      ev('activity.app.launched', '2026-05-04T10:00:00Z', { app: 'a' }, { deviceId: 'd2' }),
      ev('activity.app.launched', '2026-05-04T10:00:00Z', { app: 'a' }, { deviceId: 'd1' }),
    ]);
    expect(rows.map((r) => [r.deviceId, r.launches])).toEqual([
      ['d1', 1],
      ['d2', 1],
    ]);
  });
});

describe('rollupActivity', () => {
  const rows = aggregateActivity([
    ev('activity.app.launched', '2026-05-04T10:00:00Z', { app: 'a' }, { deviceId: 'd1' }),
    ev('activity.app.launched', '2026-05-31T10:00:00Z', { app: 'a' }, { deviceId: 'd1' }),
    ev('activity.app.launched', '2026-06-01T10:00:00Z', { app: 'a' }, { deviceId: 'd2' }),
    ev('activity.app.launched', '2026-05-01T10:00:00Z', { app: 'a' }, { deviceId: 'd2' }),
  ]);

  it('sums days into months per device', () => {
    expect(
      rollupActivity(rows, { period: 'month' }).map((r) => [r.period, r.deviceId, r.launches]),
    ).toEqual([
      ['2026-05', 'd1', 2],
      ['2026-05', 'd2', 1],
      ['2026-06', 'd2', 1],
    ]);
  });

  it('sums devices into tenant years', () => {
    expect(rollupActivity(rows, { period: 'year', perDevice: false })).toEqual([
      { ...zero, period: '2026', deviceId: null, app: 'a', launches: 4 },
    ]);
  });
});
