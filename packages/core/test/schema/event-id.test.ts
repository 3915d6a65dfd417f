import { describe, expect, it } from 'vitest';
import { createEnvelopeFactory } from '../../src/schema/envelope-factory.js';
import {
  createEventIdGenerator,
  eventIdTimestampMs,
  isEventId,
} from '../../src/schema/event-id.js';
import { createEventRegistry } from '../../src/schema/event-registry.js';
import { createFakeClock } from '../../src/testing/fake-clock.js';
import { createSeededRandom } from '../../src/testing/seeded-random.js';

describe('event ids', () => {
  it('are UUIDv7 carrying the clock time', () => {
    const clock = createFakeClock({ nowMs: Date.UTC(2026, 10, 21) });
    const nextId = createEventIdGenerator({ clock });
    const id = nextId();
    expect(isEventId(id)).toBe(true);
    expect(eventIdTimestampMs(id)).toBe(Date.UTC(2026, 10, 21));
  });

  it('strictly increase within one millisecond and when the clock steps back', () => {
    const clock = createFakeClock({ nowMs: 1_700_000_000_000 });
    const nextId = createEventIdGenerator({ clock });
    const ids: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      if (i === 2_500) clock.set(1_600_000_000_000);
      ids.push(nextId());
    }
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('are reproducible with injected randomness', () => {
    const make = () =>
      createEventIdGenerator({
        clock: createFakeClock({ nowMs: 1 }),
        random: createSeededRandom(7),
      });
    expect(make()()).toBe(make()());
  });

  it('refuses non-v7 strings', () => {
    expect(isEventId('3d6f0a4e-8b1c-4c2d-9e3f-1a2b3c4d5e6f')).toBe(false);
    expect(isEventId('not a uuid')).toBe(false);
    expect(eventIdTimestampMs('not a uuid')).toBeUndefined();
  });
});

describe('envelope factory', () => {
  it('stamps id, occurredAt and a monotonic seq that validate', () => {
    const clock = createFakeClock({ nowMs: Date.UTC(2026, 0, 2, 3, 4, 5, 6) });
    const envelopes = createEnvelopeFactory({ clock, startSeq: 41 });
    const first = envelopes.create('activity.system.active', 'activity', { idleForMs: 10 });
    const second = envelopes.create('activity.system.active', 'activity', { idleForMs: 20 }, 0);
    expect(first.seq).toBe(41);
    expect(second.seq).toBe(42);
    expect(envelopes.nextSeq).toBe(43);
    expect(first.occurredAt).toBe('2026-01-02T03:04:05.006Z');
    expect(second.occurredAt).toBe('1970-01-01T00:00:00.000Z');
    expect(createEventRegistry().validate(first).ok).toBe(true);
  });

  it('refuses a negative start seq', () => {
    expect(() => createEnvelopeFactory({ startSeq: -1 })).toThrow(/startSeq/);
  });
});

describe('event id formatting', () => {
  it('is byte for byte what the uuid package makes from the same time, counter and random bits', async () => {
    const { v7 } = await import('uuid');
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
        fc.integer({ min: 1, max: 40 }),
        (nowMs, pool, count) => {
          // The generator reads its pool 16 bytes per id and derives the counter as documented.
          const random = { float: () => 0, bytes: () => pool };
          const nextId = createEventIdGenerator({ clock: { now: () => nowMs }, random });
          let seq = 0;
          for (let i = 0; i < count; i++) {
            const rnds = pool.subarray(i * 16, i * 16 + 16);
            seq =
              i === 0
                ? (((rnds[6]! & 0x7f) << 24) | (rnds[7]! << 16) | (rnds[8]! << 8) | rnds[9]!) >>> 0
                : (seq + 1) >>> 0;
            const msecs = nowMs + (i > 0 && seq === 0 ? 1 : 0);
            expect(nextId()).toBe(v7({ msecs, seq, random: rnds }));
            if (i > 0 && seq === 0) return; // a counter wrap moves time; the property above covers the rest
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
