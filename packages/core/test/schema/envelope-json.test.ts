import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnvelopeFactory } from '../../src/schema/envelope-factory.js';
import { serializeEnvelope } from '../../src/schema/envelope-json.js';
import { isoTimestamp } from '../../src/schema/iso-timestamp.js';
import { createFakeClock } from '../../src/testing/fake-clock.js';

describe('isoTimestamp', () => {
  it('matches Date#toISOString for any millisecond, across the cache and the slow path', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_198_755_200_000, max: 8_640_000_000_000_000 }), (ms) => {
        expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 5_000 },
    );
    for (const ms of [
      0, 999, 1_000, 1_763_770_000_000, 1_763_770_000_999, 253_402_300_799_999, 253_402_300_800_000,
    ]) {
      expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
    }
  });
});

describe('serializeEnvelope', () => {
  it('produces exactly the JSON.stringify text of factory envelopes', () => {
    const clock = createFakeClock({ nowMs: 1_763_770_000_000 });
    const envelopes = createEnvelopeFactory({ clock });
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.nat({ max: 10_000_000 }),
        (data, advance) => {
          clock.advance(advance);
          const envelope = envelopes.create('activity.app.launched', 'activity', data);
          expect(serializeEnvelope(envelope)).toBe(JSON.stringify(envelope));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
