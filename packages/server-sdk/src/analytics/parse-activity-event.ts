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
