import { focusSpans, idleSpans, type Span, subtractSpans } from './activity-intervals.js';
import { splitVolume } from './aggregate-activity.js';
import type { LocalCalendar } from './local-calendar.js';
import type { ActivityFact } from './parse-activity-event.js';

/** The figures of one app (`''`: idle time and network bytes) on one day. @internal */
export interface AppFigures {
  activeMs: number;
  idleMs: number;
  launches: number;
  bytesIn: number;
  bytesOut: number;
}

/** Figures with every value at zero. @internal */
export function zeroFigures(): AppFigures {
  return { activeMs: 0, idleMs: 0, launches: 0, bytesIn: 0, bytesOut: 0 };
}

/** Whether `atMs` lies in one of the sorted, disjoint half-open `spans`. @internal */
export function inSpans(spans: readonly Span[], atMs: number): boolean {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((spans[mid]?.endMs ?? 0) <= atMs) lo = mid + 1;
    else hi = mid;
  }
  const span = spans[lo];
  return span !== undefined && span.startMs <= atMs;
}

/** The length of `span` ∩ the sorted, disjoint `clip`. */
function clippedMs(span: Span, clip: readonly Span[]): number {
  let total = 0;
  for (const piece of clip) {
    if (piece.startMs >= span.endMs) break;
    const from = Math.max(piece.startMs, span.startMs);
    const to = Math.min(piece.endMs, span.endMs);
    if (to > from) total += to - from;
  }
  return total;
}

/**
 * One device's figures on local `day`, counting only what lies in `clip` (sorted, disjoint
 * half-open spans inside the day): foreground and idle time inside it, launches at an instant
 * inside it, and the day's share of the network samples whose instant is in `counted` (the
 * spans a batch can change, of which `clip` is the day's part). The difference of two such
 * figures, over the same spans with and without a batch's facts, is what the batch adds to the
 * day's rows: outside those spans the aggregation does not change (see `affectedSpan`).
 *
 * `facts` are the device's facts visible to the day's recompute (its window), sorted by
 * `compareFacts`, one per event id; the definitions are {@link aggregateActivity}'s.
 * @internal
 */
export function spanFigures(
  facts: readonly ActivityFact[],
  target: {
    readonly calendar: LocalCalendar;
    readonly maxOpenIntervalMs: number;
    readonly day: string;
    readonly clip: readonly Span[];
    readonly counted: readonly Span[];
  },
): Map<string, AppFigures> {
  const { calendar, maxOpenIntervalMs, day, clip, counted } = target;
  const figures = new Map<string, AppFigures>();
  const of = (app: string): AppFigures => {
    let found = figures.get(app);
    if (found === undefined) {
      found = zeroFigures();
      figures.set(app, found);
    }
    return found;
  };
  const idle = idleSpans(facts, maxOpenIntervalMs);
  for (const span of idle) {
    const ms = clippedMs(span, clip);
    if (ms > 0) of('').idleMs += ms;
  }
  for (const focus of focusSpans(facts, maxOpenIntervalMs)) {
    for (const active of subtractSpans(focus, idle)) {
      const ms = clippedMs(active, clip);
      if (ms > 0) of(focus.app).activeMs += ms;
    }
  }
  for (const fact of facts) {
    if (fact.kind === 'launched') {
      if (inSpans(clip, fact.atMs) && calendar.dayOf(fact.atMs) === day) of(fact.app).launches += 1;
    } else if (fact.kind === 'network' && inSpans(counted, fact.atMs)) {
      for (const share of splitVolume(calendar, fact.atMs, fact.intervalMs, fact)) {
        if (share.day !== day) continue;
        const target = of('');
        target.bytesIn += share.bytesIn;
        target.bytesOut += share.bytesOut;
      }
    }
  }
  return figures;
}
