/** What @hpke/core hands its primitives: any buffer or view. */
export type BytesLike = ArrayBufferLike | ArrayBufferView;

/**
 * A Uint8Array over the same memory, not a copy: a payload can be hundreds of kilobytes.
 * @internal
 */
export function bytesOf(input: BytesLike): Uint8Array {
  return ArrayBuffer.isView(input)
    ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input);
}

/**
 * An ArrayBuffer holding exactly these bytes (a copy), as @hpke/core's interfaces return.
 * @internal
 */
export function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
