import { describe, expect, it } from 'vitest';
import { decodeEventBatch, encodeEventBatch } from '../../src/spool/event-batch-payload.js';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('event batch payload', () => {
  it('round-trips events whose JSON holds escaped line breaks, quotes and non-ASCII text', () => {
    const events = [
      JSON.stringify({ id: 'e1', data: { note: 'two\nlines\r\nand a "quote"' } }),
      JSON.stringify({ id: 'e2', data: { app: 'café ☕', path: 'C:\\tmp' } }),
      JSON.stringify({ id: 'e3', data: {} }),
    ];
    const payload = encodeEventBatch({ batchId: 'b-1', events });
    // One line per event after the batch id: nothing inside an event broke a line.
    expect(text(payload).split('\n')).toHaveLength(4);
    expect(decodeEventBatch(payload)).toEqual({ batchId: 'b-1', events });
  });

  it('round-trips a batch without events', () => {
    expect(decodeEventBatch(encodeEventBatch({ batchId: 'b-2', events: [] }))).toEqual({
      batchId: 'b-2',
      events: [],
    });
  });

  it('reads the JSON payloads that agent-sdk 0.1 spooled', () => {
    const events = [JSON.stringify({ id: 'e1', scope: 'activity' })];
    const legacy = new TextEncoder().encode(JSON.stringify({ batchId: 'b-old', events }));
    expect(decodeEventBatch(legacy)).toEqual({ batchId: 'b-old', events });
  });
});
