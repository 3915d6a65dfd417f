import {
  type Clock,
  decodeSealedBody,
  type Identity,
  type OpenedJsonMessage,
  openJson,
  type ReplayGuard,
  type SealError,
  systemClock,
} from '@fieldline/core';
import { HttpError } from '../http/http-error.js';
import { parseJsonBytes } from '../http/json-body.js';

/** What {@link openDeviceFrame} needs to open a device's sealed body. */
export interface OpenDeviceFrameOptions {
  /** The server's identity (the frame is sealed to its X25519 key). */
  readonly serverIdentity: Identity;
  /**
   * Earlier server identities still in their rotation overlap: a frame sealed to one of them
   * is opened too (docs/protocol.md §5.5).
   */
  readonly previousServerIdentities?: readonly Identity[];
  /** Shared across instances so a replay is caught wherever it lands. */
  readonly replayGuard: ReplayGuard;
  /** The authenticated device: only its key and id are accepted. */
  readonly device: { readonly id: string; readonly signingPublicKey: string };
  /** The frame kind the route expects (core `SealKind`). */
  readonly kind: number;
  /** A name for the kind, for error messages. */
  readonly kindName: string;
  /**
   * Time source.
   * @default systemClock
   */
  readonly clock?: Clock;
  /** Allowed clock skew; core's default when omitted. */
  readonly maxSkewMs?: number;
}

/**
 * Opens the sealed JSON body `{ "sealed": "…" }` of a device request: checks
 * the frame, that the authenticated device sent it (sender id and signature),
 * its timestamp, replay, and the expected kind, then decrypts it. Every
 * failure is the documented HTTP error (`invalid_json`,
 * `invalid_sealed_message`, `bad_signature`, `replayed`), with
 * `details.reason` naming the check that failed.
 *
 * @param rawBody - the request body.
 * @param options - server identity, replay guard, device and expected kind.
 * @returns the opened message with its parsed payload.
 * @throws {@link HttpError} as above.
 */
export async function openDeviceFrame(
  rawBody: Uint8Array,
  options: OpenDeviceFrameOptions,
): Promise<OpenedJsonMessage> {
  const body = parseJsonBytes(rawBody, ' Send { "sealed": "…" }.');
  return openDeviceSealedBody(body, options);
}

/**
 * {@link openDeviceFrame} for a body already parsed (`{ sealed: "…" }`), as the
 * real-time gateway has it from a channel message.
 *
 * @param body - the parsed `SealedBody` (validated here).
 * @param options - server identity, replay guard, device and expected kind.
 * @returns the opened message with its parsed payload.
 * @throws {@link HttpError} `invalid_sealed_message`, `bad_signature` or `replayed`.
 */
export async function openDeviceSealedBody(
  body: unknown,
  options: OpenDeviceFrameOptions,
): Promise<OpenedJsonMessage> {
  const frame = decodeSealedBody(body);
  if (!frame.ok) throw toHttpError(frame.error);
  const { device } = options;
  // Resolving the key by sender id (rather than pinning it) refuses a frame naming another
  // sender before its signature is checked or its message id reaches the replay guard.
  const open = (recipient: Identity) =>
    openJson(frame.value, {
      recipient,
      resolveSenderKey: (senderId) =>
        senderId === device.id ? device.signingPublicKey : undefined,
      clock: options.clock ?? systemClock,
      replayGuard: options.replayGuard,
      ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
    });
  let opened = await open(options.serverIdentity);
  // The recipient key is the first check, before the replay guard remembers anything, so
  // trying an earlier key after `wrong_recipient` cannot trip over the first attempt.
  for (const previous of options.previousServerIdentities ?? []) {
    if (opened.ok || opened.error.code !== 'wrong_recipient') break;
    opened = await open(previous);
  }
  if (!opened.ok) {
    if (opened.error.code === 'unknown_sender') {
      throw new HttpError(
        'bad_signature',
        'The frame was not sent by the authenticated device (sender id mismatch).',
        {
          details: { reason: 'sender_mismatch' },
        },
      );
    }
    throw toHttpError(opened.error);
  }
  if (opened.value.kind !== options.kind) {
    throw new HttpError(
      'invalid_sealed_message',
      `Expected a frame of kind ${options.kind} (${options.kindName}), got ${opened.value.kind}.`,
      { details: { reason: 'wrong_kind', kind: opened.value.kind } },
    );
  }
  return opened.value;
}

function toHttpError(error: SealError): HttpError {
  const details =
    error.details === undefined ? { reason: error.code } : { reason: error.code, ...error.details };
  switch (error.code) {
    case 'bad_signature':
    case 'wrong_recipient':
    case 'unknown_sender':
      return new HttpError('bad_signature', error.message, { details: { reason: error.code } });
    case 'replayed':
      return new HttpError(
        'replayed',
        'This sealed message was already received; seal the batch again with a new message id.',
        {
          details,
        },
      );
    case 'timestamp_out_of_range':
      return new HttpError(
        'invalid_sealed_message',
        "The frame's timestamp is too far from the server's clock; check the device clock.",
        { details },
      );
    default:
      return new HttpError('invalid_sealed_message', error.message, { details });
  }
}
