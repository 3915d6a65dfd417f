// Random activity events for the property suites, on a minute grid: what kind of event, with
// which figures. Each suite turns a spec into an event at its own time and device.
import fc from 'fast-check';
import { MIN } from './activity-events.js';

/** One generated event, before it gets a time and a device. `junk` is invalid on purpose. */
export type ActivitySpec =
  | { kind: 'focused'; app: string }
  | { kind: 'idle'; thresholdMin: number }
  | { kind: 'active'; idleForMin: number }
  | { kind: 'launched'; app: string }
  | { kind: 'closed'; app: string }
  | { kind: 'network'; intervalMin: number; bytesIn: number; bytesOut: number }
  | { kind: 'junk' };

/** Bounds of {@link activitySpecArb}. */
export interface ActivitySpecBounds {
  /** Longest `idleForMs` of an active event, in minutes. */
  readonly maxIdleForMin: number;
  /** Longest `intervalMs` of a network sample, in minutes. */
  readonly maxIntervalMin: number;
  /** Also generate invalid events (which every figure must ignore). */
  readonly junk: boolean;
}

/** Specs weighted like a working day: mostly focus changes, some idle, launches, network. */
export function activitySpecArb(bounds: ActivitySpecBounds): fc.Arbitrary<ActivitySpec> {
  const app = fc.constantFrom('a', 'b', 'c');
  const kinds: fc.WeightedArbitrary<ActivitySpec>[] = [
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('focused' as const), app }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('idle' as const),
        thresholdMin: fc.integer({ min: 0, max: 10 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('active' as const),
        idleForMin: fc.integer({ min: 0, max: bounds.maxIdleForMin }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('launched' as const), app }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('closed' as const), app }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('network' as const),
        intervalMin: fc.integer({ min: 1, max: bounds.maxIntervalMin }),
        bytesIn: fc.integer({ min: 0, max: 10_000_000 }),
        bytesOut: fc.integer({ min: 0, max: 1_000 }),
      }),
    },
  ];
  if (bounds.junk) kinds.push({ weight: 1, arbitrary: fc.constant({ kind: 'junk' as const }) });
  return fc.oneof(...kinds);
}

/** The type, scope and data of a spec's event. */
export function activityEventBody(spec: ActivitySpec): {
  type: string;
  scope: string;
  data: Record<string, unknown>;
} {
  switch (spec.kind) {
    case 'focused':
      return { type: 'activity.window.focused', scope: 'activity', data: { app: spec.app } };
    case 'idle':
      return {
        type: 'activity.system.idle',
        scope: 'activity',
        data: { idleThresholdMs: spec.thresholdMin * MIN },
      };
    case 'active':
      return {
        type: 'activity.system.active',
        scope: 'activity',
        data: { idleForMs: spec.idleForMin * MIN },
      };
    case 'launched':
      return { type: 'activity.app.launched', scope: 'activity', data: { app: spec.app } };
    case 'closed':
      return { type: 'activity.app.closed', scope: 'activity', data: { app: spec.app } };
    case 'network':
      return {
        type: 'activity.network.volume',
        scope: 'network',
        data: {
          intervalMs: spec.intervalMin * MIN,
          bytesIn: spec.bytesIn,
          bytesOut: spec.bytesOut,
        },
      };
    case 'junk':
      return { type: 'activity.window.focused', scope: 'activity', data: { app: '' } };
  }
}
