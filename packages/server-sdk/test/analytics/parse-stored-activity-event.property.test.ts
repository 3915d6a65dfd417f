import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseActivityEvent,
  parseStoredActivityEvent,
} from '../../src/analytics/parse-activity-event.js';
import { eventId } from './activity-events.js';

// The consumer parses stored events without zod; whatever it accepts, and what it makes of it,
// must be exactly what the zod path gives, or the rows would drift from `aggregateActivity`.

const TYPES = [
  'activity.app.launched',
  'activity.app.closed',
  'activity.window.focused',
  'activity.system.idle',
  'activity.system.active',
  'activity.network.volume',
  'activity.other',
];

// Values near every bound the schemas set, and values of the wrong kind.
const edgy = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    0.5,
    2 ** 31 - 1,
    2 ** 31,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    'a',
    'x'.repeat(64),
    'x'.repeat(65),
    'x'.repeat(256),
    'x'.repeat(257),
    'x'.repeat(4097),
    null,
    true,
    [],
    {},
  ),
  fc.integer(),
  fc.string({ maxLength: 8 }),
);
const KEYS = [
  'app',
  'pid',
  'executablePath',
  'runDurationMs',
  'previousApp',
  'previousFocusMs',
  'idleThresholdMs',
  'activeForMs',
  'idleForMs',
  'interface',
  'intervalMs',
  'bytesIn',
  'bytesOut',
  'other',
];
const dataArb = fc.oneof(
  fc.dictionary(fc.constantFrom(...KEYS), edgy, { maxKeys: 6 }),
  fc.constantFrom(null, [], 'text', 3),
);

describe('parseStoredActivityEvent', () => {
  it('gives exactly what parseActivityEvent gives, valid or not', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TYPES),
        dataArb,
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (type, data, seq, atMs) => {
          const stored = {
            deviceId: 'device-1',
            type,
            atMs,
            event: {
              id: eventId(seq + 1),
              type,
              occurredAt: new Date(atMs).toISOString(),
              seq,
              data,
            },
          };
          expect(parseStoredActivityEvent(stored)).toEqual(parseActivityEvent(stored));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts a valid event of every type without the fallback disagreeing', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['activity.app.launched', { app: 'editor', pid: 42, executablePath: '/usr/bin/editor' }],
      ['activity.app.closed', { app: 'editor', runDurationMs: 1000 }],
      ['activity.window.focused', { app: 'editor', previousApp: 'shell', previousFocusMs: 5 }],
      ['activity.system.idle', { idleThresholdMs: 300_000, activeForMs: 10 }],
      ['activity.system.active', { idleForMs: 60_000 }],
      [
        'activity.network.volume',
        { intervalMs: 60_000, bytesIn: 10, bytesOut: 0, interface: 'eth0' },
      ],
    ];
    for (const [type, data] of cases) {
      const stored = {
        deviceId: 'device-1',
        type,
        atMs: 1_000,
        event: { id: eventId(7), type, occurredAt: new Date(1_000).toISOString(), seq: 3, data },
      };
      const fact = parseStoredActivityEvent(stored);
      expect(fact).toBeDefined();
      expect(fact).toEqual(parseActivityEvent(stored));
    }
  });
});
