import { InvalidArgumentError } from '@fieldline/core';
import type { BusTopic } from './cluster-bus.js';

/**
 * Largest encoded bus payload, in UTF-8 bytes. PostgreSQL refuses NOTIFY
 * payloads of 8000 bytes or more; the margin leaves room for the channel name
 * and keeps every bus implementation to the same limit.
 */
export const MAX_BUS_PAYLOAD_BYTES = 7000;

const encoder = new TextEncoder();

/**
 * Encodes a bus payload as JSON and checks its size, so every bus refuses the
 * same payloads the PostgreSQL bus would.
 *
 * @param topic - the topic (for the error message).
 * @param payload - the value to send.
 * @returns the JSON text.
 * @throws {@link @fieldline/core!InvalidArgumentError | InvalidArgumentError} when the payload is
 *   not JSON-serializable or its encoding is over {@link MAX_BUS_PAYLOAD_BYTES}.
 * @internal
 */
export function encodeBusPayload(topic: BusTopic, payload: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw new InvalidArgumentError(
      `The ${topic} payload cannot be encoded as JSON: ${(error as Error).message}`,
      { topic },
    );
  }
  if (text === undefined) {
    throw new InvalidArgumentError(`The ${topic} payload is not a JSON value.`, { topic });
  }
  const bytes = encoder.encode(text).byteLength;
  if (bytes > MAX_BUS_PAYLOAD_BYTES) {
    throw new InvalidArgumentError(
      `The ${topic} payload is ${bytes} bytes of JSON; the bus carries at most ${MAX_BUS_PAYLOAD_BYTES}. ` +
        'Store the data and publish its id instead.',
      { topic, bytes, maxBytes: MAX_BUS_PAYLOAD_BYTES },
    );
  }
  return text;
}
