import type { ActivityFact } from './parse-activity-event.js';

/** A half-open span `[startMs, endMs)`, optionally of one app. @internal */
export interface Span {
  readonly startMs: number;
  readonly endMs: number;
}

/** A foreground span of one app. @internal */
export interface FocusSpan extends Span {
  readonly app: string;
}

/**
 * Foreground spans of one device's sorted facts: each `window.focused` holds
 * until the next one (in event order) or for at most `maxOpenIntervalMs`.
 * Spans are disjoint and sorted.
 * @internal
 */
export function focusSpans(facts: readonly ActivityFact[], maxOpenIntervalMs: number): FocusSpan[] {
  const focused = facts.filter((f) => f.kind === 'focused');
  const spans: FocusSpan[] = [];
  for (let i = 0; i < focused.length; i++) {
    const fact = focused[i];
    if (fact === undefined || fact.kind !== 'focused') continue;
    const next = focused[i + 1];
    const endMs = Math.min(fact.atMs + maxOpenIntervalMs, next?.atMs ?? Number.POSITIVE_INFINITY);
    if (endMs > fact.atMs) spans.push({ startMs: fact.atMs, endMs, app: fact.app });
  }
  return spans;
}

/**
 * The idle time of one device's facts, merged into disjoint sorted spans:
 * `[t - idleThresholdMs, min(t + maxOpenIntervalMs, first system.active at or
 * after t))` for each `system.idle` at t, and `[a - idleForMs, a)` for each
 * `system.active` at a.
 * @internal
 */
export function idleSpans(facts: readonly ActivityFact[], maxOpenIntervalMs: number): Span[] {
  const activeTimes = facts.filter((f) => f.kind === 'active').map((f) => f.atMs);
  const raw: Span[] = [];
  for (const fact of facts) {
    if (fact.kind === 'active') {
      raw.push({ startMs: fact.atMs - fact.idleForMs, endMs: fact.atMs });
    } else if (fact.kind === 'idle') {
      const resumedAt = activeTimes[lowerBound(activeTimes, fact.atMs)];
      const endMs = Math.min(fact.atMs + maxOpenIntervalMs, resumedAt ?? Number.POSITIVE_INFINITY);
      raw.push({ startMs: fact.atMs - fact.idleThresholdMs, endMs });
    }
  }
  return mergeSpans(raw);
}

/** Sorts and merges overlapping or touching spans; drops empty ones. @internal */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const sorted = spans
    .filter((s) => s.endMs > s.startMs)
    .sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  const merged: Span[] = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && span.startMs <= last.endMs) {
      merged[merged.length - 1] = {
        startMs: last.startMs,
        endMs: Math.max(last.endMs, span.endMs),
      };
    } else {
      merged.push(span);
    }
  }
  return merged;
}

/** `span` minus the disjoint sorted `holes`, as sorted pieces. @internal */
export function subtractSpans(span: Span, holes: readonly Span[]): Span[] {
  const pieces: Span[] = [];
  let at = span.startMs;
  // First hole that ends after the span starts.
  let lo = 0;
  let hi = holes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((holes[mid]?.endMs ?? 0) <= span.startMs) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < holes.length && at < span.endMs; i++) {
    const hole = holes[i];
    if (hole === undefined || hole.startMs >= span.endMs) break;
    if (hole.startMs > at) pieces.push({ startMs: at, endMs: hole.startMs });
    at = Math.max(at, hole.endMs);
  }
  if (at < span.endMs) pieces.push({ startMs: at, endMs: span.endMs });
  return pieces;
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
