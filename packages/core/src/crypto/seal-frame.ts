import { InvalidArgumentError } from '../errors.js';
import { type SealedBody, sealedBodySchema } from '../protocol/common.js';
import { err, ok, type Result } from '../result.js';
import { decodeBase64Url, encodeBase64Url } from './base64url.js';
import { SealError } from './crypto-errors.js';
import { KEY_ID_BYTES, SIGNATURE_BYTES } from './identity.js';

// ASCII "FL": lets a reader tell a Fieldline frame from arbitrary bytes before trusting lengths.
const SEAL_MAGIC = new Uint8Array([0x46, 0x4c]);
/** The frame format version this build writes and reads. */
export const SEAL_VERSION = 1;
/** Length in bytes of the HPKE encapsulated key (DHKEM(X25519) `Nenc`). */
export const ENC_BYTES = 32;
/** Length in bytes of the ChaCha20-Poly1305 tag at the end of every ciphertext. */
const TAG_BYTES = 16;
/** Largest sender id, in UTF-8 bytes, that the u16 length prefix can carry. */
export const MAX_SENDER_ID_BYTES = 0xffff;

/**
 * What a sealed frame carries. Extensible: later versions may add kinds, so receivers must
 * handle unknown values (they are still authenticated, and still opened).
 */
export const SealKind = Object.freeze({
  /** A batch of telemetry events (agent to server). */
  EventBatch: 1,
  /** A real-time channel message (either direction). */
  ChannelMessage: 2,
  /** A job report (agent to server). */
  JobReport: 3,
  /** A command (server to agent). */
  Command: 4,
} as const);

/** One of the {@link SealKind} values this build knows. */
export type SealKind = (typeof SealKind)[keyof typeof SealKind];

/** The authenticated, cleartext header fields of a sealed frame. */
export interface SealHeader {
  /** Frame kind, 1–255 (0 is reserved). See {@link SealKind}. */
  readonly kind: number;
  /** When the sender sealed it, in milliseconds since the Unix epoch. */
  readonly timestampMs: number;
  /** The message's UUID (lower-case, hyphenated); the replay-protection key. */
  readonly messageId: string;
  /** Who sent it: a device id, or `"server"`. */
  readonly senderId: string;
  /** {@link keyId} of the recipient's X25519 public key (8 bytes). */
  readonly recipientKeyId: Uint8Array;
}

/** A frame split into its fields by {@link decodeSealFrame}; nothing is verified yet. */
export interface DecodedSealFrame extends SealHeader {
  /** Format version read from the frame (always {@link SEAL_VERSION} once decoded). */
  readonly version: number;
  /** The header bytes exactly as received: the HPKE `aad`, and the start of the signed bytes. */
  readonly header: Uint8Array;
  /** HPKE encapsulated key (32 bytes). */
  readonly enc: Uint8Array;
  /** HPKE ciphertext including its 16-byte tag. */
  readonly ciphertext: Uint8Array;
  /** Every byte before the signature: header, enc, ciphertext length and ciphertext. */
  readonly signedBody: Uint8Array;
  /** Ed25519 signature (64 bytes). */
  readonly signature: Uint8Array;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function uuidToBytes(uuid: string): Uint8Array {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function bytesToUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Encodes the cleartext header of a sealed frame (see docs/protocol.md §3 for the layout).
 *
 * @param fields - the header fields.
 * @returns the header bytes.
 * @throws {@link InvalidArgumentError} when a field cannot be encoded: kind outside 1–255,
 *   timestamp not a safe non-negative integer, message id not a UUID, empty or too-long sender
 *   id, or a recipient key id that is not 8 bytes.
 * @example
 * ```ts
 * const header = encodeSealHeader({ kind: SealKind.EventBatch, timestampMs: clock.now(),
 *   messageId: randomUUID(), senderId: deviceId, recipientKeyId: keyId(serverKey) });
 * ```
 */
export function encodeSealHeader(fields: SealHeader): Uint8Array {
  const { kind, timestampMs, messageId, senderId, recipientKeyId } = fields;
  if (!Number.isInteger(kind) || kind < 1 || kind > 0xff) {
    throw new InvalidArgumentError('Frame kind must be an integer from 1 to 255.', { kind });
  }
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
    throw new InvalidArgumentError('timestampMs must be a non-negative safe integer.', {
      timestampMs,
    });
  }
  if (typeof messageId !== 'string' || !UUID_PATTERN.test(messageId)) {
    throw new InvalidArgumentError('messageId must be a hyphenated UUID.');
  }
  const sender = utf8Encoder.encode(senderId);
  if (sender.byteLength === 0 || sender.byteLength > MAX_SENDER_ID_BYTES) {
    throw new InvalidArgumentError(`senderId must be 1 to ${MAX_SENDER_ID_BYTES} bytes of UTF-8.`, {
      bytes: sender.byteLength,
    });
  }
  if (recipientKeyId.byteLength !== KEY_ID_BYTES) {
    throw new InvalidArgumentError(`recipientKeyId must be ${KEY_ID_BYTES} bytes.`);
  }
  const header = new Uint8Array(2 + 1 + 1 + 8 + 16 + 2 + sender.byteLength + KEY_ID_BYTES);
  const view = new DataView(header.buffer);
  let at = 0;
  header.set(SEAL_MAGIC, at);
  at += 2;
  view.setUint8(at, SEAL_VERSION);
  at += 1;
  view.setUint8(at, kind);
  at += 1;
  view.setBigUint64(at, BigInt(timestampMs));
  at += 8;
  header.set(uuidToBytes(messageId), at);
  at += 16;
  view.setUint16(at, sender.byteLength);
  at += 2;
  header.set(sender, at);
  at += sender.byteLength;
  header.set(recipientKeyId, at);
  return header;
}

/**
 * Lays out a complete frame, leaving the trailing 64 signature bytes zeroed for the caller to
 * fill in once it has signed {@link DecodedSealFrame.signedBody | the body}.
 *
 * @param header - bytes from {@link encodeSealHeader}.
 * @param enc - the HPKE encapsulated key (32 bytes).
 * @param ciphertext - the HPKE ciphertext, tag included.
 * @returns the frame and the length of its signed body (everything before the signature).
 * @throws {@link InvalidArgumentError} when `enc` is not 32 bytes or the ciphertext does not
 *   fit the u32 length field.
 * @example
 * ```ts
 * const { frame, signedBodyBytes } = layoutSealFrame(header, enc, ciphertext);
 * frame.set(sign(signatureInput(frame.subarray(0, signedBodyBytes)), identity), signedBodyBytes);
 * ```
 */
export function layoutSealFrame(
  header: Uint8Array,
  enc: Uint8Array,
  ciphertext: Uint8Array,
): { readonly frame: Uint8Array; readonly signedBodyBytes: number } {
  if (enc.byteLength !== ENC_BYTES) {
    throw new InvalidArgumentError(`enc must be ${ENC_BYTES} bytes.`);
  }
  if (ciphertext.byteLength > 0xffff_ffff) {
    throw new InvalidArgumentError('The ciphertext is too large for one frame.');
  }
  const signedBodyBytes = header.byteLength + ENC_BYTES + 4 + ciphertext.byteLength;
  const frame = new Uint8Array(signedBodyBytes + SIGNATURE_BYTES);
  frame.set(header, 0);
  frame.set(enc, header.byteLength);
  new DataView(frame.buffer).setUint32(header.byteLength + ENC_BYTES, ciphertext.byteLength);
  frame.set(ciphertext, header.byteLength + ENC_BYTES + 4);
  return { frame, signedBodyBytes };
}

function malformed(message: string, details?: Record<string, unknown>) {
  return err(new SealError('malformed_frame', message, details));
}

/**
 * Splits a frame into its fields, checking only structure: magic, version, lengths, ranges and
 * UTF-8. It verifies nothing cryptographic; {@link openMessage} does that.
 *
 * The version byte is checked right after the magic, before anything else is parsed, because a
 * later version may lay the rest out differently.
 *
 * @param frame - untrusted bytes.
 * @returns the fields, or a `SealError` with code `malformed_frame` or `unsupported_version`.
 * @example
 * ```ts
 * const decoded = decodeSealFrame(frame);
 * if (decoded.ok) console.log(decoded.value.senderId);
 * ```
 */
export function decodeSealFrame(frame: Uint8Array): Result<DecodedSealFrame, SealError> {
  if (!(frame instanceof Uint8Array)) return malformed('A sealed frame must be bytes.');
  if (frame.byteLength < 3 || frame[0] !== SEAL_MAGIC[0] || frame[1] !== SEAL_MAGIC[1]) {
    return malformed('Not a Fieldline sealed frame.');
  }
  const version = frame[2] ?? 0;
  if (version !== SEAL_VERSION) {
    return err(
      new SealError('unsupported_version', `Sealed frame version ${version} is not supported.`, {
        version,
        supported: [SEAL_VERSION],
      }),
    );
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const fixedBeforeSender = 2 + 1 + 1 + 8 + 16 + 2;
  if (frame.byteLength < fixedBeforeSender) return malformed('The sealed frame is truncated.');
  const kind = view.getUint8(3);
  if (kind === 0) return malformed('Frame kind 0 is reserved.');
  const timestamp = view.getBigUint64(4);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) {
    return malformed('The frame timestamp is out of range.');
  }
  const messageId = bytesToUuid(frame.subarray(12, 28));
  const senderBytes = view.getUint16(28);
  if (senderBytes === 0) return malformed('The sender id is empty.');
  const headerBytes = fixedBeforeSender + senderBytes + KEY_ID_BYTES;
  const minimumFrame = headerBytes + ENC_BYTES + 4 + TAG_BYTES + SIGNATURE_BYTES;
  if (frame.byteLength < minimumFrame) return malformed('The sealed frame is truncated.');
  let senderId: string;
  try {
    senderId = utf8Decoder.decode(
      frame.subarray(fixedBeforeSender, fixedBeforeSender + senderBytes),
    );
  } catch {
    return malformed('The sender id is not valid UTF-8.');
  }
  const ciphertextAt = headerBytes + ENC_BYTES + 4;
  const ciphertextBytes = view.getUint32(headerBytes + ENC_BYTES);
  if (ciphertextBytes < TAG_BYTES) return malformed('The ciphertext is shorter than its tag.');
  const signedBodyBytes = ciphertextAt + ciphertextBytes;
  if (frame.byteLength !== signedBodyBytes + SIGNATURE_BYTES) {
    return malformed(
      frame.byteLength < signedBodyBytes + SIGNATURE_BYTES
        ? 'The sealed frame is truncated.'
        : 'The sealed frame has trailing bytes.',
      { expectedBytes: signedBodyBytes + SIGNATURE_BYTES, actualBytes: frame.byteLength },
    );
  }
  return ok({
    version,
    kind,
    timestampMs: Number(timestamp),
    messageId,
    senderId,
    recipientKeyId: frame.subarray(headerBytes - KEY_ID_BYTES, headerBytes),
    header: frame.subarray(0, headerBytes),
    enc: frame.subarray(headerBytes, headerBytes + ENC_BYTES),
    ciphertext: frame.subarray(ciphertextAt, signedBodyBytes),
    signedBody: frame.subarray(0, signedBodyBytes),
    signature: frame.subarray(signedBodyBytes),
  });
}

/**
 * Wraps a frame for an HTTP JSON body.
 *
 * @param frame - a frame from {@link sealMessage}.
 * @returns `{ sealed: "<base64url>" }`.
 * @example
 * ```ts
 * await fetch(url, { method: 'POST', body: JSON.stringify(encodeSealedBody(frame)) });
 * ```
 */
export function encodeSealedBody(frame: Uint8Array): SealedBody {
  return { sealed: encodeBase64Url(frame) };
}

/**
 * Unwraps a frame from an HTTP JSON body. Only the envelope is checked here; pass the bytes to
 * {@link openMessage}.
 *
 * @param body - untrusted parsed JSON.
 * @returns the frame bytes, or a `SealError` with code `malformed_frame`.
 * @example
 * ```ts
 * const frame = decodeSealedBody(await request.json());
 * if (!frame.ok) return reply(400, frame.error.toJSON());
 * ```
 */
export function decodeSealedBody(body: unknown): Result<Uint8Array, SealError> {
  const parsed = sealedBodySchema.safeParse(body);
  if (!parsed.success) return malformed('Expected a JSON body of the form { "sealed": "..." }.');
  const bytes = decodeBase64Url(parsed.data.sealed);
  if (!bytes.ok) return malformed('The sealed frame is not canonical base64url.');
  return ok(bytes.value);
}
