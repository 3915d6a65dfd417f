import type { Clock } from '../contracts/clock.js';
import { InvalidArgumentError } from '../errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../protocol/json-depth.js';
import { err, ok, type Result } from '../result.js';
import { decodeBase64Url } from './base64url.js';
import { sealCipherSuite } from './cipher-suite.js';
import { SealError } from './crypto-errors.js';
import { recipientCryptoKeyPair, recipientPublicCryptoKey } from './hpke-keys.js';
import { type Identity, KEY_BYTES, keyId, sign, verify } from './identity.js';
import type { ReplayGuard } from './replay-guard.js';
import { decodeSealFrame, encodeSealHeader, layoutSealFrame } from './seal-frame.js';

/** HPKE `info` for every sealed frame: binds the derived keys to this protocol and version. */
export const SEAL_HPKE_INFO = 'fieldline/v1 seal';
/** Prefix of the bytes the sender signs; keeps frame signatures apart from every other use. */
export const SEAL_SIGNATURE_DOMAIN = 'fieldline/v1 seal signature';
/** Default for `maxSkewMs` in {@link OpenMessageOptions}: 60 s either way. */
export const DEFAULT_MAX_SKEW_MS = 60_000;

const INFO_BYTES = new TextEncoder().encode(SEAL_HPKE_INFO);
const SIGNATURE_DOMAIN_BYTES = new TextEncoder().encode(SEAL_SIGNATURE_DOMAIN);

function signatureInput(signedBody: Uint8Array): Uint8Array {
  const input = new Uint8Array(SIGNATURE_DOMAIN_BYTES.byteLength + signedBody.byteLength);
  input.set(SIGNATURE_DOMAIN_BYTES, 0);
  input.set(signedBody, SIGNATURE_DOMAIN_BYTES.byteLength);
  return input;
}

function publicKeyBytes(key: Uint8Array | string, what: string): Uint8Array {
  const bytes = typeof key === 'string' ? decodeBase64Url(key) : ok(key);
  if (!bytes.ok || bytes.value.byteLength !== KEY_BYTES) {
    throw new InvalidArgumentError(`${what} must be ${KEY_BYTES} bytes, raw or base64url.`);
  }
  return bytes.value;
}

/** Options of {@link sealMessage}. */
export interface SealMessageOptions {
  /** What the frame carries; one of {@link SealKind} (any 1–255 is encodable). */
  readonly kind: number;
  /** The sender's id as the recipient knows it: a device id, or `"server"`. */
  readonly senderId: string;
  /** A fresh UUID for this message; the recipient's replay guard remembers it. */
  readonly messageId: string;
  /** Sealing time in milliseconds since the Unix epoch, usually `clock.now()`. */
  readonly timestampMs: number;
  /** The bytes to encrypt. */
  readonly plaintext: Uint8Array;
  /** The recipient's X25519 public key, raw (32 bytes) or base64url. */
  readonly recipientEncryptionPublicKey: Uint8Array | string;
  /** The sender's identity; its Ed25519 key signs the frame. */
  readonly sender: Identity;
}

/** Options of {@link sealJson}: those of {@link sealMessage} with a JSON payload. */
export interface SealJsonOptions extends Omit<SealMessageOptions, 'plaintext'> {
  /** Any value `JSON.stringify` accepts (not `undefined`, a function or a symbol). */
  readonly payload: unknown;
}

/**
 * A key or a lookup that says which Ed25519 key may have signed a frame. The lookup returns
 * `undefined` for an unknown sender; if it throws or rejects, {@link openMessage} rejects too,
 * because a failing key store is an operational error, not an untrusted-input one.
 */
export type SenderKeySource =
  | {
      /** The only key accepted, raw (32 bytes) or base64url: e.g. an agent's pinned server key. */
      readonly senderSigningPublicKey: Uint8Array | string;
      readonly resolveSenderKey?: undefined;
    }
  | {
      readonly senderSigningPublicKey?: undefined;
      /** Looks up the key of the frame's (not yet authenticated) sender id. */
      readonly resolveSenderKey: (
        senderId: string,
      ) => Uint8Array | string | undefined | Promise<Uint8Array | string | undefined>;
    };

/** Options of {@link openMessage} and {@link openJson}. */
export type OpenMessageOptions = SenderKeySource & {
  /** Our identity; its X25519 key opens the frame. */
  readonly recipient: Identity;
  /** Source of the current time for the freshness check. */
  readonly clock: Clock;
  /**
   * Largest accepted difference, in either direction, between the frame's timestamp and
   * `clock.now()`. The replay guard must remember ids for at least this long.
   * @default 60_000
   */
  readonly maxSkewMs?: number;
  /** Remembers accepted message ids; see {@link createMemoryReplayGuard}. */
  readonly replayGuard: ReplayGuard;
};

/** A frame that passed every check. */
export interface OpenedMessage {
  /** Frame kind; compare with {@link SealKind}, and expect values this build does not know. */
  readonly kind: number;
  /** The authenticated sender id. */
  readonly senderId: string;
  /** The message UUID (lower-case). */
  readonly messageId: string;
  /** The sender's timestamp, milliseconds since the Unix epoch. */
  readonly timestampMs: number;
  /** The decrypted bytes. */
  readonly plaintext: Uint8Array;
}

/** A frame opened by {@link openJson}: {@link OpenedMessage} with the parsed payload. */
export interface OpenedJsonMessage extends Omit<OpenedMessage, 'plaintext'> {
  /** The parsed JSON; validate it with the schema of the frame's kind before use. */
  readonly payload: unknown;
}

async function sealWithContext(
  options: SealMessageOptions,
  ephemeralKeyMaterial: Uint8Array | undefined,
): Promise<Uint8Array> {
  const recipientKey = publicKeyBytes(
    options.recipientEncryptionPublicKey,
    'recipientEncryptionPublicKey',
  );
  if (!(options.plaintext instanceof Uint8Array)) {
    throw new InvalidArgumentError('plaintext must be a Uint8Array.');
  }
  const header = encodeSealHeader({
    kind: options.kind,
    timestampMs: options.timestampMs,
    messageId: options.messageId,
    senderId: options.senderId,
    recipientKeyId: keyId(recipientKey),
  });
  const context = await sealCipherSuite().createSenderContext({
    recipientPublicKey: await recipientPublicCryptoKey(recipientKey),
    info: INFO_BYTES,
    ...(ephemeralKeyMaterial === undefined ? {} : { ekm: ephemeralKeyMaterial }),
  });
  const { plaintext } = options;
  // HPKE copies any view it is given; a view that spans its whole ArrayBuffer (what
  // TextEncoder returns) can be handed over as the buffer itself, saving a payload-sized copy.
  const wholeBuffer =
    plaintext.byteOffset === 0 &&
    plaintext.buffer instanceof ArrayBuffer &&
    plaintext.byteLength === plaintext.buffer.byteLength;
  const ciphertext = new Uint8Array(
    await context.seal(wholeBuffer ? plaintext.buffer : plaintext, header),
  );
  const { frame, signedBodyBytes } = layoutSealFrame(
    header,
    new Uint8Array(context.enc),
    ciphertext,
  );
  frame.set(
    sign(signatureInput(frame.subarray(0, signedBodyBytes)), options.sender),
    signedBodyBytes,
  );
  return frame;
}

/**
 * Encrypts a payload to a recipient with HPKE (RFC 9180 base mode) and signs the whole frame
 * with the sender's Ed25519 key. See docs/protocol.md §3 for the construction and layout.
 *
 * @param options - what to seal, for whom, and as whom.
 * @returns the binary frame; carry it over HTTP with {@link encodeSealedBody}.
 * @throws {@link InvalidArgumentError} (as a rejection) when an option cannot be encoded: a
 *   recipient key that is not 32 bytes, a message id that is not a UUID, an empty sender id, etc.
 * @example
 * ```ts
 * const frame = await sealMessage({
 *   kind: SealKind.EventBatch, senderId: deviceId, messageId: randomUUID(),
 *   timestampMs: clock.now(), plaintext: bytes,
 *   recipientEncryptionPublicKey: serverKeys.encryptionPublicKey, sender: identity,
 * });
 * ```
 */
export function sealMessage(options: SealMessageOptions): Promise<Uint8Array> {
  return sealWithContext(options, undefined);
}

/**
 * {@link sealMessage} with a fixed HPKE ephemeral key, derived from `ephemeralKeyMaterial` with
 * the KEM's DeriveKeyPair, so that the output is byte-for-byte reproducible.
 *
 * @internal For test vectors and the worked example only: reusing ephemeral key material across
 * messages destroys confidentiality.
 * @param options - as for {@link sealMessage}.
 * @param ephemeralKeyMaterial - the `ikmE` input of DeriveKeyPair.
 * @returns the frame.
 */
export function sealMessageWithFixedEphemeralForTesting(
  options: SealMessageOptions,
  ephemeralKeyMaterial: Uint8Array,
): Promise<Uint8Array> {
  return sealWithContext(options, ephemeralKeyMaterial);
}

function refuse(code: SealError['code'], message: string, details?: Record<string, unknown>) {
  return err(new SealError(code, message, details));
}

/**
 * Verifies and decrypts a sealed frame. Never throws or rejects on untrusted input: every
 * refusal is a `SealError` result. The checks run in this order, cheapest and least trusting
 * first: structure, version, recipient key id, sender key lookup, signature, timestamp, replay,
 * decryption. The timestamp and replay checks come after the signature so that their verdicts
 * are about bytes the sender really signed, and so that forged frames cannot fill the replay
 * guard.
 *
 * @param frame - untrusted bytes.
 * @param options - our identity, how to find the sender's key, clock, skew and replay guard.
 * @returns the opened message, or a `SealError` naming the first check that failed.
 * @throws {@link InvalidArgumentError} (as a rejection) when neither or both of
 *   `senderSigningPublicKey` and `resolveSenderKey` are given, or `maxSkewMs` is negative.
 *   Also rejects when `resolveSenderKey` or the replay guard rejects.
 * @example
 * ```ts
 * const opened = await openMessage(frame, {
 *   recipient: serverIdentity, resolveSenderKey: (id) => devices.signingKeyOf(id),
 *   clock: systemClock, replayGuard,
 * });
 * if (!opened.ok) return reply(400, opened.error.toJSON());
 * ```
 */
export async function openMessage(
  frame: Uint8Array,
  options: OpenMessageOptions,
): Promise<Result<OpenedMessage, SealError>> {
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (!Number.isFinite(maxSkewMs) || maxSkewMs < 0) {
    throw new InvalidArgumentError('maxSkewMs must be a non-negative number.', { maxSkewMs });
  }
  const hasKey = options.senderSigningPublicKey !== undefined;
  const hasResolver = options.resolveSenderKey !== undefined;
  if (hasKey === hasResolver) {
    throw new InvalidArgumentError(
      'Give exactly one of senderSigningPublicKey and resolveSenderKey.',
    );
  }

  const decoded = decodeSealFrame(frame);
  if (!decoded.ok) return decoded;
  const parsed = decoded.value;

  const ourKeyId = keyId(options.recipient.encryptionPublicKey);
  if (Buffer.compare(parsed.recipientKeyId, ourKeyId) !== 0) {
    return refuse('wrong_recipient', 'The frame was sealed to a different key.', {
      recipientKeyId: Buffer.from(parsed.recipientKeyId).toString('hex'),
    });
  }

  const senderKey =
    options.senderSigningPublicKey !== undefined
      ? options.senderSigningPublicKey
      : await options.resolveSenderKey(parsed.senderId);
  if (senderKey === undefined) {
    return refuse('unknown_sender', 'No signing key is known for this sender.', {
      senderId: parsed.senderId,
    });
  }

  if (!verify(signatureInput(parsed.signedBody), parsed.signature, senderKey)) {
    return refuse('bad_signature', "The frame's signature does not verify.", {
      senderId: parsed.senderId,
    });
  }

  const nowMs = options.clock.now();
  if (Math.abs(nowMs - parsed.timestampMs) > maxSkewMs) {
    return refuse('timestamp_out_of_range', 'The frame timestamp is outside the allowed skew.', {
      timestampMs: parsed.timestampMs,
      nowMs,
      maxSkewMs,
    });
  }

  const fresh = await options.replayGuard.checkAndRemember(parsed.messageId, parsed.timestampMs);
  if (!fresh) {
    return refuse('replayed', 'This message id was already accepted.', {
      messageId: parsed.messageId,
    });
  }

  let plaintext: Uint8Array;
  try {
    const context = await sealCipherSuite().createRecipientContext({
      recipientKey: await recipientCryptoKeyPair(options.recipient),
      enc: parsed.enc,
      info: INFO_BYTES,
    });
    plaintext = new Uint8Array(await context.open(parsed.ciphertext, parsed.header));
  } catch {
    return refuse('decrypt_failed', 'The frame could not be decrypted with our key.', {
      messageId: parsed.messageId,
    });
  }

  return ok({
    kind: parsed.kind,
    senderId: parsed.senderId,
    messageId: parsed.messageId,
    timestampMs: parsed.timestampMs,
    plaintext,
  });
}

const jsonEncoder = new TextEncoder();
const jsonDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * {@link sealMessage} for a JSON payload: serializes it as UTF-8 JSON and seals the bytes.
 *
 * @param options - as for {@link sealMessage}, with `payload` instead of `plaintext`.
 * @returns the binary frame.
 * @throws {@link InvalidArgumentError} (as a rejection) when the payload has no JSON form, or as
 *   for {@link sealMessage}. Rejects with the `JSON.stringify` error on cycles or BigInt.
 * @example
 * ```ts
 * const frame = await sealJson({ ...common, kind: SealKind.EventBatch, payload: { events } });
 * ```
 */
export async function sealJson(options: SealJsonOptions): Promise<Uint8Array> {
  const json: string | undefined = JSON.stringify(options.payload);
  if (json === undefined) {
    throw new InvalidArgumentError('The payload has no JSON representation.');
  }
  const { payload: _payload, ...rest } = options;
  return sealMessage({ ...rest, plaintext: jsonEncoder.encode(json) });
}

/**
 * {@link openMessage} for a JSON payload: opens the frame and parses the plaintext.
 *
 * @param frame - untrusted bytes.
 * @param options - as for {@link openMessage}.
 * @returns the message with its parsed `payload` (still untrusted in shape: validate it), or a
 *   `SealError`; code `invalid_payload` when the authentic plaintext is not UTF-8 JSON or nests
 *   deeper than {@link MAX_JSON_DEPTH} (then `details.maxDepth` is set).
 * @throws as for {@link openMessage}.
 * @example
 * ```ts
 * const opened = await openJson(frame, options);
 * if (opened.ok) eventBatchSchema.safeParse(opened.value.payload);
 * ```
 */
export async function openJson(
  frame: Uint8Array,
  options: OpenMessageOptions,
): Promise<Result<OpenedJsonMessage, SealError>> {
  const opened = await openMessage(frame, options);
  if (!opened.ok) return opened;
  const { plaintext, ...message } = opened.value;
  // Checked before parsing: a sender with a valid key still must not make us build (and later
  // walk) a structure deep enough to exhaust the stack.
  if (exceedsJsonDepth(plaintext)) {
    return refuse(
      'invalid_payload',
      `The opened payload nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`,
      { messageId: message.messageId, maxDepth: MAX_JSON_DEPTH },
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(jsonDecoder.decode(plaintext));
  } catch {
    return refuse('invalid_payload', 'The opened payload is not UTF-8 JSON.', {
      messageId: message.messageId,
    });
  }
  return ok({ ...message, payload });
}
