/** An event batch as the spool keeps it: each event's JSON, joined into a batch when sent. */
export interface StoredBatch {
  readonly batchId: string;
  readonly events: readonly string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const OPEN_BRACE = 0x7b;

/**
 * The bytes of an event batch in a spool file: the batch id, then one event JSON per line.
 * Event JSON never holds a raw line break (JSON.stringify escapes them inside strings), so
 * lines need no escaping: writing and reading a 1,000-event batch costs a join and a split
 * instead of JSON-escaping every event inside a JSON string array and parsing it back.
 *
 * @param batch - the batch id and the events' JSON.
 * @returns the payload to hand to the spool.
 * @internal
 */
export function encodeEventBatch(batch: StoredBatch): Uint8Array {
  return encoder.encode(
    batch.events.length === 0 ? batch.batchId : `${batch.batchId}\n${batch.events.join('\n')}`,
  );
}

/**
 * Reads a payload written by {@link encodeEventBatch}, or by @fieldline/agent-sdk 0.1, which stored
 * `{ "batchId", "events": [json, ...] }` (a payload that starts with `{`), so files spooled
 * before an upgrade are still sent.
 *
 * @param payload - an authenticated spool payload of kind `events`.
 * @returns the batch.
 * @internal
 */
export function decodeEventBatch(payload: Uint8Array): StoredBatch {
  const text = decoder.decode(payload);
  if (payload[0] === OPEN_BRACE) return JSON.parse(text) as StoredBatch;
  const lines = text.split('\n');
  return { batchId: lines[0] ?? '', events: lines.slice(1) };
}
