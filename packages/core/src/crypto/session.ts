import type { RecipientContext, SenderContext } from '@hpke/core';
import { InvalidArgumentError } from '../errors.js';
import { err, ok, type Result } from '../result.js';
import { decodeBase64Url, encodeBase64Url } from './base64url.js';
import { sealCipherSuite } from './cipher-suite.js';
import { SealError } from './crypto-errors.js';
import { recipientCryptoKeyPair, recipientPublicCryptoKey } from './hpke-keys.js';
import { type Identity, KEY_BYTES, SIGNATURE_BYTES, sign, verify } from './identity.js';

/** Prefix of the HPKE `info` of a real-time session (docs/protocol.md §4.2). */
export const SESSION_HPKE_INFO = 'fieldline/v1 session';
/** Prefix of the bytes the server signs to vouch for a session's `enc`. */
export const SESSION_SIGNATURE_DOMAIN = 'fieldline/v1 session signature';

const encoder = new TextEncoder();

/**
 * What a welcome carries so the device can open the session: the HPKE encapsulated key and
 * the server's Ed25519 signature over it (both unpadded base64url).
 */
export interface SessionOffer {
  /** The 32-byte HPKE `enc`. */
  readonly enc: string;
  /** The server's signature over {@link sessionSignatureBytes}. */
  readonly sig: string;
}

/**
 * The HPKE `info` of a session: binds its keys to the device and to the nonce the device chose
 * for this connection, so no session of another device or connection can be replayed to it.
 *
 * @param deviceId - the device's id.
 * @param nonce - the nonce of the device's hello or resume.
 * @returns the UTF-8 bytes of `"fieldline/v1 session" LF deviceId LF nonce`.
 */
export function sessionInfoBytes(deviceId: string, nonce: string): Uint8Array {
  return encoder.encode(`${SESSION_HPKE_INFO}\n${deviceId}\n${nonce}`);
}

/**
 * The bytes the server signs in a {@link SessionOffer}.
 *
 * @param deviceId - the device's id.
 * @param nonce - the nonce of the device's hello or resume.
 * @param enc - the offer's `enc`, as base64url.
 * @returns the UTF-8 bytes of `"fieldline/v1 session signature" LF deviceId LF nonce LF enc`.
 */
export function sessionSignatureBytes(deviceId: string, nonce: string, enc: string): Uint8Array {
  return encoder.encode(`${SESSION_SIGNATURE_DOMAIN}\n${deviceId}\n${nonce}\n${enc}`);
}

/**
 * The `aad` of a boxed command frame: ties the ciphertext to the command id in clear.
 *
 * @param id - the command id.
 * @returns the UTF-8 bytes of `"fieldline/v1 command" LF id`.
 */
export function commandBoxAad(id: string): Uint8Array {
  return encoder.encode(`fieldline/v1 command\n${id}`);
}

/**
 * The `aad` of a boxed message frame: ties the ciphertext to every routing field in clear.
 *
 * @param frame - the frame's id, channel, type, ts and replyTo.
 * @returns the UTF-8 bytes of `"fieldline/v1 message" LF id LF channel LF type LF ts LF replyTo`
 *   (`replyTo` empty when absent).
 */
export function messageBoxAad(frame: {
  readonly id: string;
  readonly channel: string;
  readonly type: string;
  readonly ts: number;
  readonly replyTo?: string | undefined;
}): Uint8Array {
  return encoder.encode(
    `fieldline/v1 message\n${frame.id}\n${frame.channel}\n${frame.type}\n${frame.ts}\n${frame.replyTo ?? ''}`,
  );
}

/**
 * The server's half of a session: seals boxes to one device over one connection. Boxes carry
 * no sequence number; the receiver counts them, so they must reach it in the order
 * {@link SessionSealer.seal} was called (a WebSocket keeps that order).
 */
export class SessionSealer {
  readonly #context: SenderContext;
  #tail: Promise<unknown> = Promise.resolve();

  /** @internal Use {@link createSessionSealer}. */
  constructor(context: SenderContext) {
    this.#context = context;
  }

  /**
   * Seals one box. Calls are served in call order, whatever each payload's size.
   *
   * @param plaintext - the bytes to encrypt.
   * @param aad - bytes the box is bound to (see {@link commandBoxAad}, {@link messageBoxAad}).
   * @returns the box as unpadded base64url (ciphertext and 16-byte tag).
   */
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<string> {
    const sealed = this.#tail.then(() => this.#context.seal(plaintext, aad));
    this.#tail = sealed.catch(() => undefined);
    return sealed.then((ciphertext) => encodeBase64Url(new Uint8Array(ciphertext)));
  }
}

/**
 * The device's half of a session: opens the server's boxes in the order they arrived. The
 * first box that fails to open breaks the session for good (the stream was altered, reordered
 * or cut), and every later box fails too: the device must reconnect.
 */
export class SessionOpener {
  readonly #context: Promise<RecipientContext>;
  #tail: Promise<unknown> = Promise.resolve();
  #broken = false;

  /** @internal Use {@link acceptSessionOffer}. */
  constructor(context: Promise<RecipientContext>) {
    this.#context = context;
    // A failed setup surfaces through open(); this only keeps it from being unhandled.
    context.catch(() => undefined);
  }

  /**
   * Opens the next box. Call it once per box, in arrival order, before any `await`.
   *
   * @param box - the frame's `box` (base64url).
   * @param aad - the same bytes the server bound the box to.
   * @returns the plaintext, or `decrypt_failed` / `malformed_frame`. Never throws.
   */
  open(box: string, aad: Uint8Array): Promise<Result<Uint8Array, SealError>> {
    const opened = this.#tail.then(() => this.#openNext(box, aad));
    this.#tail = opened;
    return opened;
  }

  async #openNext(box: string, aad: Uint8Array): Promise<Result<Uint8Array, SealError>> {
    if (this.#broken) {
      return err(new SealError('decrypt_failed', 'The session broke at an earlier box.'));
    }
    const bytes = decodeBase64Url(box);
    if (!bytes.ok) {
      this.#broken = true;
      return err(new SealError('malformed_frame', 'A box is not base64url.'));
    }
    try {
      const context = await this.#context;
      return ok(new Uint8Array(await context.open(bytes.value, aad)));
    } catch {
      this.#broken = true;
      return err(
        new SealError(
          'decrypt_failed',
          'A box did not open with the session key: the stream was altered or reordered.',
        ),
      );
    }
  }
}

/** Options of {@link createSessionSealer}. */
export interface CreateSessionSealerOptions {
  /** The server's identity: its Ed25519 key signs the offer. */
  readonly server: Identity;
  readonly deviceId: string;
  /** The nonce of the device's hello or resume. */
  readonly nonce: string;
  /** The device's X25519 public key, raw (32 bytes) or base64url. */
  readonly deviceEncryptionPublicKey: Uint8Array | string;
}

/**
 * Starts a session for one connection (docs/protocol.md §4.2): an RFC 9180 base-mode HPKE
 * context to the device's X25519 key, whose `enc` the server signs. Every later server → device
 * frame on the connection is one AEAD box of that context: one ChaCha20-Poly1305 call instead
 * of a key agreement and a signature per frame.
 *
 * @param options - the server identity, the device, the connection's nonce.
 * @returns the offer for the welcome and the sealer for the connection.
 * @throws {@link InvalidArgumentError} when the device key is not 32 bytes.
 */
export async function createSessionSealer(
  options: CreateSessionSealerOptions,
): Promise<{ readonly offer: SessionOffer; readonly sealer: SessionSealer }> {
  const key =
    typeof options.deviceEncryptionPublicKey === 'string'
      ? decodeBase64Url(options.deviceEncryptionPublicKey)
      : ok(options.deviceEncryptionPublicKey);
  if (!key.ok || key.value.byteLength !== KEY_BYTES) {
    throw new InvalidArgumentError(`deviceEncryptionPublicKey must be ${KEY_BYTES} bytes.`);
  }
  const context = await sealCipherSuite().createSenderContext({
    recipientPublicKey: await recipientPublicCryptoKey(key.value),
    info: sessionInfoBytes(options.deviceId, options.nonce),
  });
  const enc = encodeBase64Url(new Uint8Array(context.enc));
  const sig = sign(sessionSignatureBytes(options.deviceId, options.nonce, enc), options.server);
  return { offer: { enc, sig: encodeBase64Url(sig) }, sealer: new SessionSealer(context) };
}

/** Options of {@link acceptSessionOffer}. */
export interface AcceptSessionOfferOptions {
  /** The device's identity: its X25519 key opens the session. */
  readonly device: Identity;
  readonly deviceId: string;
  /** The nonce this device sent in its hello or resume on this connection. */
  readonly nonce: string;
  readonly offer: SessionOffer;
  /** The server's Ed25519 key pinned at enrollment, raw or base64url. */
  readonly serverSigningPublicKey: Uint8Array | string;
}

/**
 * Checks a welcome's session offer and returns the opener for the connection's boxes. The
 * signature is checked here, synchronously; the HPKE setup finishes in the background and
 * the first `open` waits for it.
 *
 * @param options - the device, its nonce, the offer, the pinned server key.
 * @returns the opener, or `bad_signature` / `malformed_frame` when the offer is not the
 *   server's for this connection.
 */
export function acceptSessionOffer(
  options: AcceptSessionOfferOptions,
): Result<SessionOpener, SealError> {
  const { offer } = options;
  const enc = decodeBase64Url(offer.enc);
  const sig = decodeBase64Url(offer.sig);
  if (!enc.ok || enc.value.byteLength !== KEY_BYTES || !sig.ok) {
    return err(new SealError('malformed_frame', 'The session offer is not well formed.'));
  }
  if (sig.value.byteLength !== SIGNATURE_BYTES) {
    return err(new SealError('malformed_frame', 'The session signature has the wrong length.'));
  }
  const signed = sessionSignatureBytes(options.deviceId, options.nonce, offer.enc);
  if (!verify(signed, sig.value, options.serverSigningPublicKey)) {
    return err(
      new SealError('bad_signature', 'The session offer is not signed by the pinned server key.'),
    );
  }
  const context = recipientCryptoKeyPair(options.device).then((recipientKey) =>
    sealCipherSuite().createRecipientContext({
      recipientKey,
      enc: enc.value,
      info: sessionInfoBytes(options.deviceId, options.nonce),
    }),
  );
  return ok(new SessionOpener(context));
}
