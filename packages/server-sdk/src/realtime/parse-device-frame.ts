import { exceedsJsonDepth, type RealtimeFrame, realtimeFrameSchema } from '@fieldline/core';
import type { RawData } from 'ws';
import { isStorableText } from '../db/storable-text.js';

/**
 * Reads one message from a device as a frame of docs/protocol.md §4: a text message holding one
 * JSON object, nested at most `MAX_JSON_DEPTH` deep, that matches a frame schema, whose strings PostgreSQL can store (no U+0000, no
 * unpaired surrogate), since ids and reasons reach the database.
 *
 * @param data - the message as ws delivered it.
 * @param isBinary - whether it was a binary message.
 * @returns the frame, or undefined for anything else (the caller closes with 4400).
 * @example
 * ```ts
 * const frame = parseDeviceFrame(data, isBinary);
 * if (frame === undefined) connection.close(4400, 'invalid_frame');
 * ```
 */
export function parseDeviceFrame(data: RawData, isBinary: boolean): RealtimeFrame | undefined {
  if (isBinary) return undefined;
  const text = data.toString();
  // Nesting is bounded before parsing, as for HTTP bodies (docs/protocol.md §2).
  if (exceedsJsonDepth(text)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = realtimeFrameSchema.safeParse(json);
  if (!parsed.success) return undefined;
  // Frames are flat: every string a device can send is a top-level field.
  for (const value of Object.values(parsed.data)) {
    if (typeof value === 'string' && !isStorableText(value)) return undefined;
  }
  return parsed.data;
}
