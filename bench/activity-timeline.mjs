// Realistic per-device activity for the analytics bench: a working day of focus changes,
// launches, idle periods and network samples, with chosen occurrence times (so days in the
// past can be ingested) and a seeded generator (so two runs send the same events).
import { createEnvelopeFactory } from '@fieldline/core';

/** The 20 applications of the bench's synthetic fleet. */
export const BENCH_APPS = Array.from({ length: 20 }, (_, i) => `app.bench.${i}`);

/** A small deterministic generator (mulberry32), so figures are repeatable. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The events of one device between `fromMs` and `toMs`: a focus change every 1–5 minutes,
 * a launch now and then, a network sample every minute, and an idle period of 2–10 minutes
 * about every half hour. Sorted by time.
 */
export function deviceTimeline({ fromMs, toMs, seed }) {
  const random = seededRandom(seed);
  const factory = createEnvelopeFactory({ startSeq: 1 });
  const events = [];
  let nextIdleAt = fromMs + 20 * 60_000 * (0.5 + random());
  for (let at = fromMs; at < toMs; ) {
    const app = BENCH_APPS[Math.floor(random() * BENCH_APPS.length)];
    if (random() < 0.2) {
      events.push(
        factory.create('activity.app.launched', 'activity', { app, pid: 1000 + events.length }, at),
      );
    }
    events.push(
      factory.create('activity.window.focused', 'activity', { app, pid: 2000 + events.length }, at),
    );
    const stayMs = 60_000 + Math.floor(random() * 240_000);
    at += stayMs;
    if (at >= nextIdleAt && at < toMs) {
      const idleForMs = 120_000 + Math.floor(random() * 480_000);
      events.push(
        factory.create('activity.system.idle', 'activity', { idleThresholdMs: 60_000 }, at),
      );
      at += idleForMs;
      events.push(factory.create('activity.system.active', 'activity', { idleForMs }, at));
      nextIdleAt = at + 20 * 60_000 * (0.5 + random());
    }
  }
  for (let at = fromMs + 60_000; at < toMs; at += 60_000) {
    events.push(
      factory.create(
        'activity.network.volume',
        'network',
        {
          interface: 'eth0',
          intervalMs: 60_000,
          bytesIn: Math.floor(random() * 2_000_000),
          bytesOut: Math.floor(random() * 500_000),
        },
        at,
      ),
    );
  }
  return events.sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : 1));
}
