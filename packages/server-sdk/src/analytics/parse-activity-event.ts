import {
  appClosed,
  appLaunched,
  eventEnvelopeSchema,
  networkVolume,
  systemActive,
  systemIdle,
  windowFocused,
} from '@fieldline/core';
import { z } from 'zod';
import type { DeviceActivityEvent } from './activity-row.js';

/**
 * A validated activity event, reduced to what the definitions use.
 * `atMs` is `occurredAt` in epoch milliseconds.
 * @internal
 */
export type ActivityFact = {
  readonly deviceId: string;
  readonly id: string;
  readonly seq: number;
  readonly atMs: number;
} & (
  | { readonly kind: 'launched'; readonly app: string }
  | { readonly kind: 'closed'; readonly app: string }
  | { readonly kind: 'focused'; readonly app: string }
  | { readonly kind: 'idle'; readonly idleThresholdMs: number }
  | { readonly kind: 'active'; readonly idleForMs: number }
  | {
      readonly kind: 'network';
      readonly intervalMs: number;
      readonly bytesIn: number;
      readonly bytesOut: number;
    }
);

// The envelope fields the definitions need; other keys (scope, anything a
// store adds) are ignored rather than making a stored event unusable.
const headSchema = z.object({
  id: eventEnvelopeSchema.shape.id,
  type: eventEnvelopeSchema.shape.type,
  occurredAt: eventEnvelopeSchema.shape.occurredAt,
  seq: eventEnvelopeSchema.shape.seq,
  data: eventEnvelopeSchema.shape.data,
});

/**
 * Validates one event with the built-in schemas and returns its fact, or
 * `undefined` when it is invalid or not an activity type (such events are
 * ignored by the aggregation, as docs/analytics.md says).
 * @internal
 */
export function parseActivityEvent(input: DeviceActivityEvent): ActivityFact | undefined {
  if (typeof input?.deviceId !== 'string' || input.deviceId === '') return undefined;
  const head = headSchema.safeParse(input.event);
  if (!head.success) return undefined;
  const { id, type, occurredAt, seq, data } = head.data;
  const atMs = Date.parse(occurredAt);
  if (!Number.isFinite(atMs)) return undefined;
  const base = { deviceId: input.deviceId, id, seq, atMs };
  switch (type) {
    case appLaunched.type: {
      const d = appLaunched.dataSchema.safeParse(data);
      return d.success ? { ...base, kind: 'launched', app: d.data.app } : undefined;
    }
    case appClosed.type: {
      const d = appClosed.dataSchema.safeParse(data);
      return d.success ? { ...base, kind: 'closed', app: d.data.app } : undefined;
    }
    case windowFocused.type: {
      const d = windowFocused.dataSchema.safeParse(data);
      return d.success ? { ...base, kind: 'focused', app: d.data.app } : undefined;
    }
    case systemIdle.type: {
      const d = systemIdle.dataSchema.safeParse(data);
      return d.success
        ? { ...base, kind: 'idle', idleThresholdMs: d.data.idleThresholdMs }
        : undefined;
    }
    case systemActive.type: {
      const d = systemActive.dataSchema.safeParse(data);
      return d.success ? { ...base, kind: 'active', idleForMs: d.data.idleForMs } : undefined;
    }
    case networkVolume.type: {
      const d = networkVolume.dataSchema.safeParse(data);
      return d.success
        ? {
            ...base,
            kind: 'network',
            intervalMs: d.data.intervalMs,
            bytesIn: d.data.bytesIn,
            bytesOut: d.data.bytesOut,
          }
        : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Total order of events: `occurredAt`, then `seq`, then `id`, then the
 * payload, so duplicates and ties resolve the same way whatever the arrival
 * order.
 * @internal
 */
export function compareFacts(a: ActivityFact, b: ActivityFact): number {
  if (a.atMs !== b.atMs) return a.atMs - b.atMs;
  if (a.seq !== b.seq) return a.seq - b.seq;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  const ka = JSON.stringify(a);
  const kb = JSON.stringify(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Parses, drops invalid events, keeps one copy per event id (the first in
 * {@link compareFacts} order) and groups by device, each group sorted.
 * @internal
 */
export function factsByDevice(events: Iterable<DeviceActivityEvent>): Map<string, ActivityFact[]> {
  const byId = new Map<string, ActivityFact>();
  for (const input of events) {
    const fact = parseActivityEvent(input);
    if (fact === undefined) continue;
    // Event ids are unique per device; keying on both keeps two devices that
    // (wrongly) reuse an id from erasing each other.
    const key = `${fact.deviceId}\u0000${fact.id}`;
    const kept = byId.get(key);
    if (kept === undefined || compareFacts(fact, kept) < 0) byId.set(key, fact);
  }
  const groups = new Map<string, ActivityFact[]>();
  for (const fact of byId.values()) {
    const list = groups.get(fact.deviceId);
    if (list === undefined) groups.set(fact.deviceId, [fact]);
    else list.push(fact);
  }
  for (const list of groups.values()) list.sort(compareFacts);
  return groups;
}

const MAX_PID = 2 ** 31 - 1;
const isText = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max;
const isCount = (value: unknown, min: number, max: number): value is number =>
  Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
const absentOr = (value: unknown, check: (v: unknown) => boolean): boolean =>
  value === undefined || check(value);
const isApp = (v: unknown) => isText(v, 1, 256);
const isPid = (v: unknown) => isCount(v, 1, MAX_PID);
const isDuration = (v: unknown) => isCount(v, 0, Number.MAX_SAFE_INTEGER);

// The keys each built-in type's data may have: their schemas are strict, so any other key makes
// the event invalid.
const DATA_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  'activity.app.launched': new Set(['app', 'pid', 'executablePath']),
  'activity.app.closed': new Set(['app', 'pid', 'runDurationMs']),
  'activity.window.focused': new Set(['app', 'pid', 'previousApp', 'previousFocusMs']),
  'activity.system.idle': new Set(['idleThresholdMs', 'activeForMs']),
  'activity.system.active': new Set(['idleForMs']),
  'activity.network.volume': new Set(['interface', 'intervalMs', 'bytesIn', 'bytesOut']),
};

/**
 * {@link parseActivityEvent} for an event read back from the `events` table, without zod on the
 * hot path: its envelope was validated when it was stored, and its data is checked here by hand
 * against the built-in (strict) schemas' rules. Whatever this check cannot vouch for (an unusual value, a
 * row edited by hand) goes through {@link parseActivityEvent}, so both always agree.
 * @internal
 */
export function parseStoredActivityEvent(stored: {
  readonly deviceId: string;
  readonly type: string;
  readonly atMs: number;
  readonly event: {
    readonly id: string;
    readonly seq: number;
    readonly data: unknown;
  };
}): ActivityFact | undefined {
  const fact = trustedFact(stored);
  return fact ?? parseActivityEvent(stored);
}

function trustedFact(
  stored: Parameters<typeof parseStoredActivityEvent>[0],
): ActivityFact | undefined {
  const { deviceId, type, atMs, event } = stored;
  const data = event.data;
  if (deviceId === '' || !Number.isFinite(atMs) || !isDuration(event.seq)) {
    return undefined;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const d = data as Record<string, unknown>;
  const keys = DATA_KEYS[type];
  if (keys === undefined) return undefined;
  for (const key in d) if (!keys.has(key)) return undefined;
  const base = { deviceId, id: event.id, seq: event.seq, atMs };
  switch (type) {
    case 'activity.app.launched':
      if (!isApp(d.app) || !absentOr(d.pid, isPid)) return undefined;
      if (!absentOr(d.executablePath, (v) => isText(v, 0, 4096))) return undefined;
      return { ...base, kind: 'launched', app: d.app as string };
    case 'activity.app.closed':
      if (!isApp(d.app) || !absentOr(d.pid, isPid)) return undefined;
      if (!absentOr(d.runDurationMs, isDuration)) return undefined;
      return { ...base, kind: 'closed', app: d.app as string };
    case 'activity.window.focused':
      if (!isApp(d.app) || !absentOr(d.pid, isPid)) return undefined;
      if (!absentOr(d.previousApp, isApp) || !absentOr(d.previousFocusMs, isDuration)) {
        return undefined;
      }
      return { ...base, kind: 'focused', app: d.app as string };
    case 'activity.system.idle':
      if (!isDuration(d.idleThresholdMs) || !absentOr(d.activeForMs, isDuration)) return undefined;
      return { ...base, kind: 'idle', idleThresholdMs: d.idleThresholdMs as number };
    case 'activity.system.active':
      if (!isDuration(d.idleForMs)) return undefined;
      return { ...base, kind: 'active', idleForMs: d.idleForMs as number };
    case 'activity.network.volume':
      if (!isCount(d.intervalMs, 1, Number.MAX_SAFE_INTEGER)) return undefined;
      if (!isDuration(d.bytesIn) || !isDuration(d.bytesOut)) return undefined;
      if (!absentOr(d.interface, (v) => isText(v, 1, 64))) return undefined;
      return {
        ...base,
        kind: 'network',
        intervalMs: d.intervalMs as number,
        bytesIn: d.bytesIn as number,
        bytesOut: d.bytesOut as number,
      };
    default:
      return undefined;
  }
}
