import { mergeSpans, type Span } from './activity-intervals.js';
import { affectedSpan } from './affected-days.js';
import { ACTIVITY_LOOK_AHEAD_MS, type DayWindow, inWindow } from './day-windows.js';
import type { LocalCalendar } from './local-calendar.js';
import {
  type ActivityFact,
  compareFacts,
  parseStoredActivityEvent,
} from './parse-activity-event.js';
import type { StoredBatchEvent } from './read-device-events.js';
import { type AppFigures, spanFigures, zeroFigures } from './span-figures.js';

/** Where a batch can change one device's rows: per live local day, the spans inside it. @internal */
export interface BatchReach {
  /** The spans the batch can change, merged, sorted, half-open, all days. */
  readonly counted: readonly Span[];
  /** Per live day, the part of `counted` inside it, with the events the day must read. */
  readonly days: ReadonlyArray<{ readonly window: DayWindow; readonly clip: readonly Span[] }>;
  /** Days the batch reaches that are past the retention horizon: left as they are. */
  readonly frozenDays: readonly string[];
}

/**
 * Where adding `facts` can change the device's rows: the union of their affected spans
 * (`affectedSpan`, made half-open), split into local days. A day whose recompute window would
 * start before `horizonMs` is frozen, as the recompute leaves it (its raw events may be gone).
 * @internal
 */
export function batchReach(
  facts: readonly ActivityFact[],
  target: {
    readonly calendar: LocalCalendar;
    readonly maxOpenIntervalMs: number;
    readonly horizonMs: number;
  },
): BatchReach {
  const { calendar, maxOpenIntervalMs, horizonMs } = target;
  // Every day that starts before this is frozen, so nothing before it needs splitting; the
  // bound also keeps a sample claiming a years-long interval from splitting into years of days.
  const floorMs = horizonMs - 86_400_000;
  const counted = mergeSpans(
    facts.map((fact) => {
      const { fromMs, toMs } = affectedSpan(fact, maxOpenIntervalMs);
      return { startMs: fromMs, endMs: toMs + 1 };
    }),
  );
  const clips = new Map<string, Span[]>();
  const frozen = new Set<string>();
  for (const span of counted) {
    if (span.endMs <= floorMs) {
      frozen.add(calendar.dayOf(span.startMs));
      continue;
    }
    for (const piece of calendar.split(Math.max(span.startMs, floorMs), span.endMs)) {
      if (calendar.startOf(piece.day) - maxOpenIntervalMs < horizonMs) {
        frozen.add(piece.day);
        continue;
      }
      const list = clips.get(piece.day);
      const clip = { startMs: piece.startMs, endMs: piece.endMs };
      if (list === undefined) clips.set(piece.day, [clip]);
      else list.push(clip);
    }
  }
  const days = [...clips.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, clip]) => ({
      clip,
      window: {
        day,
        fromMs: (clip[0] as Span).startMs - maxOpenIntervalMs,
        endMs: (clip[clip.length - 1] as Span).endMs,
        aheadMs: calendar.startOf(calendar.nextDay(day)) + ACTIVITY_LOOK_AHEAD_MS,
      },
    }));
  return { counted, days, frozenDays: [...frozen].sort() };
}

/** A stored event parsed once, with whether it is counted before and after the batch. */
interface ClassifiedFact {
  readonly fact: ActivityFact;
  readonly type: string;
  /** The rows count it already. */
  readonly before: boolean;
  /** The rows count it once the batch is added. */
  readonly after: boolean;
}

/**
 * What adding the batches of `fresh` (their `received_at` values) changes in one device's rows,
 * per local day and app (days and apps without a change left out): the figures of each reached day's spans with the batch minus without
 * it, from the events of the span windows. Events of batches that are stored but not yet added
 * (neither applied nor fresh) count on neither side, so the rows stay the aggregation of the
 * added batches, whatever order the consumer meets them in.
 * @internal
 */
export function batchDelta(
  events: readonly StoredBatchEvent[],
  fresh: ReadonlySet<number>,
  reach: BatchReach,
  target: { readonly calendar: LocalCalendar; readonly maxOpenIntervalMs: number },
): Map<string, Map<string, AppFigures>> {
  const classified: ClassifiedFact[] = [];
  for (const event of events) {
    const isFresh = fresh.has(event.receivedAtMs);
    if (!event.applied && !isFresh) continue;
    const fact = parseStoredActivityEvent(event);
    if (fact === undefined) continue;
    // Fresh batches may already be recorded: they still count only after.
    classified.push({ fact, type: event.type, before: event.applied && !isFresh, after: true });
  }
  classified.sort((a, b) => compareFacts(a.fact, b.fact));
  const byDay = new Map<string, Map<string, AppFigures>>();
  for (const { window, clip } of reach.days) {
    const visible = classified.filter((c) => inWindow(window, c.type, c.fact.atMs));
    const spans = { ...target, day: window.day, clip, counted: reach.counted };
    const after = spanFigures(
      visible.filter((c) => c.after).map((c) => c.fact),
      spans,
    );
    const before = spanFigures(
      visible.filter((c) => c.before).map((c) => c.fact),
      spans,
    );
    const delta = new Map<string, AppFigures>();
    for (const app of new Set([...after.keys(), ...before.keys()])) {
      const a = after.get(app) ?? zeroFigures();
      const b = before.get(app) ?? zeroFigures();
      const d: AppFigures = {
        activeMs: a.activeMs - b.activeMs,
        idleMs: a.idleMs - b.idleMs,
        launches: a.launches - b.launches,
        bytesIn: a.bytesIn - b.bytesIn,
        bytesOut: a.bytesOut - b.bytesOut,
      };
      if (Object.values(d).some((value) => value !== 0)) delta.set(app, d);
    }
    if (delta.size > 0) byDay.set(window.day, delta);
  }
  return byDay;
}
