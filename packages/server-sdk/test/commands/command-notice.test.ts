// The fieldline_commands payloads: packing device ids into notices under the
// NOTIFY limit, and reading both shapes back while ignoring anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  commandNotices,
  MAX_COMMAND_NOTICE_BYTES,
  parseCommandNotice,
} from '../../src/commands/command-notice.js';

const encodedBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

describe('command notices', () => {
  it('sends one { deviceId } for one device and nothing for none', () => {
    expect(commandNotices([])).toEqual([]);
    expect(commandNotices(['dev_a', 'dev_a'])).toEqual([{ deviceId: 'dev_a' }]);
  });

  it('packs any ids into notices that round-trip, each within the byte limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 128 }), {
          maxLength: 400,
        }),
        fc.integer({ min: 300, max: MAX_COMMAND_NOTICE_BYTES }),
        (ids, maxBytes) => {
          const notices = commandNotices(ids, maxBytes);
          for (const notice of notices) {
            if ('deviceIds' in notice) expect(encodedBytes(notice)).toBeLessThanOrEqual(maxBytes);
          }
          expect(notices.flatMap(parseCommandNotice).sort()).toEqual([...new Set(ids)].sort());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fills notices close to the limit: 10 000 device ids take about 30', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `dev_${String(i).padStart(16, '0')}`);
    const notices = commandNotices(ids);
    expect(notices.length).toBeLessThanOrEqual(35);
    for (const notice of notices) expect(encodedBytes(notice)).toBeLessThanOrEqual(7000);
    expect(notices.flatMap(parseCommandNotice)).toEqual(ids);
  });

  it('reads nothing from malformed payloads', () => {
    for (const payload of [
      null,
      'dev_a',
      {},
      { deviceId: '' },
      { deviceId: 7 },
      { deviceIds: [] },
      { deviceIds: ['ok', 5] },
      { deviceIds: Array.from({ length: 1001 }, (_, i) => `d${i}`) },
      { deviceId: 'x'.repeat(129) },
    ]) {
      expect(parseCommandNotice(payload)).toEqual([]);
    }
    expect(parseCommandNotice({ deviceIds: ['a', 'b', 'a'] })).toEqual(['a', 'b']);
  });
});
