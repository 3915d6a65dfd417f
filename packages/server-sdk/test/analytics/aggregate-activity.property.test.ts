import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActivityRow, DeviceActivityEvent } from '../../src/analytics/activity-row.js';
import { affectedDays } from '../../src/analytics/affected-days.js';
import { aggregateActivity } from '../../src/analytics/aggregate-activity.js';
import { eventId, MIN } from './activity-events.js';
import { type ActivitySpec, activityEventBody, activitySpecArb } from './activity-specs.js';

// Streams live on a minute grid (times and durations in whole minutes), so a
// minute-by-minute walk over the definitions is an exact, independent oracle.

interface Gen {
  readonly device: string;
  readonly minute: number;
  readonly spec: ActivitySpec;
}

const specArb = activitySpecArb({ maxIdleForMin: 180, maxIntervalMin: 120, junk: true });

// Starts just before the 2026 DST changes in New York, so streams cross them.
const scenarioArb = fc.record({
  timeZone: fc.constantFrom('UTC', 'America/New_York'),
  startMs: fc.constantFrom(
    Date.parse('2026-03-07T20:00:00Z'),
    Date.parse('2026-10-31T20:00:00Z'),
    Date.parse('2026-05-04T00:00:00Z'),
  ),
  maxOpenMin: fc.integer({ min: 1, max: 30 }),
  // A short span on a 5-minute grid packs events (and ties) around midnight;
  // a long one on a 1-minute grid crosses days.
  gens: fc.constantFrom([10 * 60, 5], [2 * 24 * 60, 1]).chain(([span, step]) =>
    fc.array(
      fc.record({
        device: fc.constantFrom('d1', 'd2'),
        minute: fc.integer({ min: 0, max: span / step }).map((n) => n * step),
        spec: specArb,
      }),
      { maxLength: 40 },
    ),
  ),
  seed: fc.integer(),
  split: fc.nat(),
});

function toEvents(startMs: number, gens: readonly Gen[]): DeviceActivityEvent[] {
  // seq is per device and monotonic in time; equal times keep generation order.
  const order = gens.map((g, i) => ({ g, i })).sort((x, y) => x.g.minute - y.g.minute || x.i - y.i);
  const seqs = new Map<string, number>();
  return order.map(({ g, i }) => {
    const seq = (seqs.get(g.device) ?? 0) + 1;
    seqs.set(g.device, seq);
    const { type, data } = activityEventBody(g.spec);
    return {
      deviceId: g.device,
      event: {
        // ids in the reverse of generation order, so a tie in time must be
        // broken by seq (the documented order), not by id.
        id: eventId(gens.length - i),
        type,
        occurredAt: new Date(startMs + g.minute * MIN).toISOString(),
        seq,
        scope: 'activity',
        data,
      },
    };
  });
}

/** Seeded Fisher–Yates, with some events delivered twice. */
function deliver<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
  const out = [...items];
  for (const item of items) if (next() < 0.3) out.push(item);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The local date of an instant; these zones have whole-hour offsets, so cache per hour. */
function dayFinder(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone });
  const cache = new Map<number, string>();
  return (ms) => {
    const hour = Math.floor(ms / 3_600_000);
    let day = cache.get(hour);
    if (day === undefined) {
      day = format.format(hour * 3_600_000);
      cache.set(hour, day);
    }
    return day;
  };
}

interface Expected {
  activeMs: number;
  idleMs: number;
  launches: number;
}

/** The definitions of docs/analytics.md, evaluated minute by minute. */
function simulate(
  startMs: number,
  gens: readonly Gen[],
  timeZone: string,
  maxOpenMin: number,
): Map<string, Expected> {
  const dayOf = dayFinder(timeZone);
  const out = new Map<string, Expected>();
  const bump = (device: string, day: string, a: string, field: keyof Expected, by: number) => {
    const key = `${device}|${day}|${a}`;
    const row = out.get(key) ?? { activeMs: 0, idleMs: 0, launches: 0 };
    row[field] += by;
    out.set(key, row);
  };
  const indexed = gens.map((g, i) => ({ ...g, i }));
  for (const device of ['d1', 'd2']) {
    const mine = indexed.filter((g) => g.device === device);
    const actives = mine.flatMap((g) => (g.spec.kind === 'active' ? [g] : []));
    for (let m = -400; m <= 2 * 24 * 60 + 400; m++) {
      const day = dayOf(startMs + m * MIN);
      const isIdle = mine.some((g) => {
        if (g.spec.kind === 'active') return g.minute - g.spec.idleForMin <= m && m < g.minute;
        if (g.spec.kind !== 'idle') return false;
        const resumed = Math.min(
          ...actives.filter((a) => a.minute >= g.minute).map((a) => a.minute),
        );
        return g.minute - g.spec.thresholdMin <= m && m < Math.min(g.minute + maxOpenMin, resumed);
      });
      if (isIdle) {
        bump(device, day, '', 'idleMs', MIN);
        continue;
      }
      let latest: (typeof mine)[number] | undefined;
      for (const g of mine) {
        if (g.spec.kind !== 'focused' || g.minute > m) continue;
        if (
          latest === undefined ||
          g.minute > latest.minute ||
          (g.minute === latest.minute && g.i > latest.i)
        ) {
          latest = g;
        }
      }
      if (latest?.spec.kind === 'focused' && m < latest.minute + maxOpenMin) {
        bump(device, day, latest.spec.app, 'activeMs', MIN);
      }
    }
    for (const g of mine) {
      if (g.spec.kind === 'launched')
        bump(device, dayOf(startMs + g.minute * MIN), g.spec.app, 'launches', 1);
    }
  }
  return out;
}

function key(r: ActivityRow): string {
  return `${r.deviceId}|${r.day}|${r.app}`;
}

describe('aggregateActivity (properties)', () => {
  it('depends only on the set of events, matches a minute-by-minute recomputation, and late events need only their affected days', () => {
    fc.assert(
      fc.property(scenarioArb, ({ timeZone, startMs, maxOpenMin, gens, seed, split }) => {
        const options = { timeZone, maxOpenIntervalMs: maxOpenMin * MIN };
        const events = toEvents(startMs, gens);
        const rows = aggregateActivity(events, options);

        // (a) arrival order and duplicate deliveries change nothing.
        const arrivals = deliver(events, seed);
        expect(aggregateActivity(arrivals, options)).toEqual(rows);

        // (b) time and launches equal the independent walk; bytes add up exactly
        // and each day's share is within rounding of its proportional share.
        const expected = simulate(startMs, gens, timeZone, maxOpenMin);
        const actual = new Map<string, Expected>();
        for (const r of rows) {
          if (r.activeMs || r.idleMs || r.launches) {
            actual.set(key(r), { activeMs: r.activeMs, idleMs: r.idleMs, launches: r.launches });
          }
        }
        const nonZero = new Map(
          [...expected].filter(([, v]) => v.activeMs || v.idleMs || v.launches),
        );
        expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(nonZero));
        checkBytes(startMs, gens, timeZone, rows);

        // (c) aggregate a prefix, then for each late event recompute only its
        // affected days from everything known so far.
        const cut = split % (arrivals.length + 1);
        const known = arrivals.slice(0, cut);
        const state = new Map(aggregateActivity(known, options).map((r) => [key(r), r]));
        for (const late of arrivals.slice(cut)) {
          known.push(late);
          const days = new Set(affectedDays(late, options));
          for (const [k, r] of state) {
            if (r.deviceId === late.deviceId && days.has(r.day)) state.delete(k);
          }
          for (const r of aggregateActivity(known, options)) {
            if (r.deviceId === late.deviceId && days.has(r.day)) state.set(key(r), r);
          }
        }
        expect([...state.values()].sort((x, y) => (key(x) < key(y) ? -1 : 1))).toEqual(
          [...rows].sort((x, y) => (key(x) < key(y) ? -1 : 1)),
        );
      }),
      { numRuns: 300 },
    );
  });
});

function checkBytes(startMs: number, gens: readonly Gen[], timeZone: string, rows: ActivityRow[]) {
  const dayOf = dayFinder(timeZone);
  const exact = new Map<string, { bytesIn: number; bytesOut: number; samples: number }>();
  let totalIn = 0;
  let totalOut = 0;
  for (const g of gens) {
    if (g.spec.kind !== 'network') continue;
    totalIn += g.spec.bytesIn;
    totalOut += g.spec.bytesOut;
    const perDay = new Map<string, number>();
    for (let m = g.minute - g.spec.intervalMin; m < g.minute; m++) {
      const day = dayOf(startMs + m * MIN);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    for (const [day, minutes] of perDay) {
      const k = `${g.device}|${day}|`;
      const e = exact.get(k) ?? { bytesIn: 0, bytesOut: 0, samples: 0 };
      e.bytesIn += (g.spec.bytesIn * minutes) / g.spec.intervalMin;
      e.bytesOut += (g.spec.bytesOut * minutes) / g.spec.intervalMin;
      e.samples += 1;
      exact.set(k, e);
    }
  }
  expect(rows.reduce((s, r) => s + r.bytesIn, 0)).toBe(totalIn);
  expect(rows.reduce((s, r) => s + r.bytesOut, 0)).toBe(totalOut);
  for (const r of rows) {
    const e = exact.get(key(r)) ?? { bytesIn: 0, bytesOut: 0, samples: 0 };
    expect(Math.abs(r.bytesIn - e.bytesIn)).toBeLessThan(e.samples + 1e-6);
    expect(Math.abs(r.bytesOut - e.bytesOut)).toBeLessThan(e.samples + 1e-6);
  }
}
