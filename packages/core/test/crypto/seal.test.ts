import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createMemoryReplayGuard,
  decodeSealedBody,
  decodeSealFrame,
  encodeSealedBody,
  encodeSealHeader,
  isSealError,
  keyId,
  layoutSealFrame,
  type OpenMessageOptions,
  openJson,
  openMessage,
  publicKeysOf,
  SEAL_SIGNATURE_DOMAIN,
  SealKind,
  sealJson,
  sealMessage,
  sign,
} from '../../src/crypto/index.js';
import { isInvalidArgumentError } from '../../src/errors.js';
import { MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';
import { fixedIdentity, manualClock } from './fixtures.js';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const device = fixedIdentity('device');
const server = fixedIdentity('server');
const stranger = fixedIdentity('stranger');

function setup() {
  const clock = manualClock(T0);
  const options: OpenMessageOptions = {
    recipient: server,
    resolveSenderKey: (senderId) =>
      senderId === 'dev-1' ? publicKeysOf(device).signingPublicKey : undefined,
    clock,
    replayGuard: createMemoryReplayGuard({ clock }),
  };
  return { clock, options };
}

function sealEvents(overrides: Partial<Parameters<typeof sealJson>[0]> = {}) {
  return sealJson({
    kind: SealKind.EventBatch,
    senderId: 'dev-1',
    messageId: randomUUID(),
    timestampMs: T0,
    payload: { events: [{ type: 'app.launch', data: { app: 'editor' } }] },
    recipientEncryptionPublicKey: publicKeysOf(server).encryptionPublicKey,
    sender: device,
    ...overrides,
  });
}

async function codeOf(frame: Uint8Array, options: OpenMessageOptions): Promise<string> {
  const result = await openMessage(frame, options);
  if (result.ok) return 'ok';
  expect(isSealError(result.error)).toBe(true);
  return result.error.code;
}

function flip(frame: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = frame.slice();
  copy[index < 0 ? copy.length + index : index]! ^= mask;
  return copy;
}

describe('sealJson / openJson', () => {
  it('round-trips a payload with its authenticated header fields', async () => {
    const { options } = setup();
    const messageId = randomUUID();
    const payload = { events: [{ type: 'app.launch', data: { app: 'editor', n: 1.5 } }], ü: '✓' };
    const frame = await sealEvents({ messageId, payload });
    const opened = await openJson(frame, options);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.value).toEqual({
      kind: SealKind.EventBatch,
      senderId: 'dev-1',
      messageId,
      timestampMs: T0,
      payload,
    });
  });

  it('opens with a pinned sender key given as raw bytes', async () => {
    const clock = manualClock(T0);
    const frame = await sealJson({
      kind: SealKind.Command,
      senderId: 'server',
      messageId: randomUUID(),
      timestampMs: T0,
      payload: { type: 'restart' },
      recipientEncryptionPublicKey: device.encryptionPublicKey,
      sender: server,
    });
    const opened = await openJson(frame, {
      recipient: device,
      senderSigningPublicKey: server.signingPublicKey,
      clock,
      replayGuard: createMemoryReplayGuard({ clock }),
    });
    expect(opened.ok && opened.value.payload).toEqual({ type: 'restart' });
  });

  it('reports invalid_payload when the authentic plaintext is not JSON', async () => {
    const { options } = setup();
    const frame = await sealMessage({
      kind: SealKind.ChannelMessage,
      senderId: 'dev-1',
      messageId: randomUUID(),
      timestampMs: T0,
      plaintext: new Uint8Array([0xff, 0x00]),
      recipientEncryptionPublicKey: server.encryptionPublicKey,
      sender: device,
    });
    const opened = await openJson(frame, options);
    expect(!opened.ok && opened.error.code).toBe('invalid_payload');
  });

  it('reports invalid_payload, before parsing, when the plaintext nests deeper than MAX_JSON_DEPTH', async () => {
    const { options } = setup();
    const depth = MAX_JSON_DEPTH + 1;
    const frame = await sealMessage({
      kind: SealKind.JobReport,
      senderId: 'dev-1',
      messageId: randomUUID(),
      timestampMs: T0,
      plaintext: new TextEncoder().encode(`${'['.repeat(depth)}${']'.repeat(depth)}`),
      recipientEncryptionPublicKey: server.encryptionPublicKey,
      sender: device,
    });
    const opened = await openJson(frame, options);
    expect(!opened.ok && opened.error.code).toBe('invalid_payload');
    expect(!opened.ok && opened.error.details).toMatchObject({ maxDepth: MAX_JSON_DEPTH });
  });

  it('rejects payloads without a JSON form and malformed options as programmer errors', async () => {
    await expect(sealEvents({ payload: undefined })).rejects.toSatisfy(isInvalidArgumentError);
    await expect(sealEvents({ messageId: 'not-a-uuid' })).rejects.toSatisfy(isInvalidArgumentError);
    await expect(sealEvents({ senderId: '' })).rejects.toSatisfy(isInvalidArgumentError);
    await expect(sealEvents({ kind: 0 })).rejects.toSatisfy(isInvalidArgumentError);
    await expect(sealEvents({ timestampMs: -1 })).rejects.toSatisfy(isInvalidArgumentError);
    await expect(
      sealEvents({ recipientEncryptionPublicKey: new Uint8Array(31) }),
    ).rejects.toSatisfy(isInvalidArgumentError);
    const { options } = setup();
    const frame = await sealEvents();
    await expect(
      openMessage(frame, { ...options, senderSigningPublicKey: device.signingPublicKey } as never),
    ).rejects.toSatisfy(isInvalidArgumentError);
  });
});

describe('openMessage rejections', () => {
  it('malformed_frame: garbage, empty, truncated anywhere, trailing bytes', async () => {
    const { options } = setup();
    const frame = await sealEvents();
    expect(await codeOf(new Uint8Array(0), options)).toBe('malformed_frame');
    expect(await codeOf(new Uint8Array(randomBytes(300)), options)).toBe('malformed_frame');
    for (const length of [1, 2, 3, 10, 29, 40, 100, frame.length - 65, frame.length - 1]) {
      expect(await codeOf(frame.subarray(0, length), options), `length ${length}`).toBe(
        'malformed_frame',
      );
    }
    const longer = new Uint8Array(frame.length + 1);
    longer.set(frame);
    expect(await codeOf(longer, options)).toBe('malformed_frame');
    expect(await codeOf('sealed' as never, options)).toBe('malformed_frame');
  });

  it('unsupported_version: a frame from a later protocol version', async () => {
    const { options } = setup();
    const frame = (await sealEvents()).slice();
    frame[2] = 2;
    expect(await codeOf(frame, options)).toBe('unsupported_version');
  });

  it('wrong_recipient: sealed to another key', async () => {
    const { options } = setup();
    const frame = await sealEvents({ recipientEncryptionPublicKey: stranger.encryptionPublicKey });
    expect(await codeOf(frame, options)).toBe('wrong_recipient');
  });

  it('unknown_sender: the resolver does not know the sender id', async () => {
    const { options } = setup();
    expect(await codeOf(await sealEvents({ senderId: 'dev-2' }), options)).toBe('unknown_sender');
  });

  it('bad_signature: signed by a key other than the sender id’s', async () => {
    const { options } = setup();
    expect(await codeOf(await sealEvents({ sender: stranger }), options)).toBe('bad_signature');
  });

  it('bad_signature: any change to header, enc, ciphertext or signature', async () => {
    const { options } = setup();
    const frame = await sealEvents();
    const decoded = decodeSealFrame(frame);
    if (!decoded.ok) throw decoded.error;
    const headerLength = decoded.value.header.length;
    // Kind 1 becomes 5: a kind this build does not know still parses, then fails the signature.
    expect(await codeOf(flip(frame, 3, 0x04), options)).toBe('bad_signature');
    const positions = {
      timestamp: 11,
      messageId: 12,
      enc: headerLength,
      encLast: headerLength + 31,
      ciphertextFirst: headerLength + 36,
      tag: frame.length - 65,
      signatureFirst: frame.length - 64,
      signatureLast: frame.length - 1,
    };
    for (const [field, index] of Object.entries(positions)) {
      expect(await codeOf(flip(frame, index), options), field).toBe('bad_signature');
    }
    // The sender id is in the signed header too; with a pinned key the lookup cannot catch it.
    const pinned = { ...options, resolveSenderKey: () => device.signingPublicKey };
    expect(await codeOf(flip(frame, 30), pinned)).toBe('bad_signature');
    // The recipient key id is signed as well, but is checked (and refused) earlier.
    expect(await codeOf(flip(frame, headerLength - 1), options)).toBe('wrong_recipient');
    // None of the forgeries reached the replay guard: the genuine frame still opens.
    expect(await codeOf(frame, options)).toBe('ok');
  });

  it('timestamp_out_of_range: older or newer than the allowed skew, checked after the signature', async () => {
    const { clock, options } = setup();
    const frame = await sealEvents();
    clock.set(T0 + 60_001);
    expect(await codeOf(frame, options)).toBe('timestamp_out_of_range');
    expect(await codeOf(flip(frame, 11), options)).toBe('bad_signature');
    clock.set(T0 - 60_001);
    expect(await codeOf(frame, options)).toBe('timestamp_out_of_range');
    clock.set(T0 - 1_000);
    expect(await codeOf(frame, { ...options, maxSkewMs: 999 })).toBe('timestamp_out_of_range');
    clock.set(T0 + 60_000);
    expect(await codeOf(frame, options)).toBe('ok');
  });

  it('replayed: the same message id twice, even re-sealed', async () => {
    const { options } = setup();
    const messageId = randomUUID();
    const frame = await sealEvents({ messageId });
    expect(await codeOf(frame, options)).toBe('ok');
    expect(await codeOf(frame, options)).toBe('replayed');
    expect(await codeOf(await sealEvents({ messageId }), options)).toBe('replayed');
    // The message id is lower-cased on the wire, so case does not dodge the guard.
    expect(await codeOf(await sealEvents({ messageId: messageId.toUpperCase() }), options)).toBe(
      'replayed',
    );
  });

  it('decrypt_failed: authentic and fresh, but the ciphertext was not made for our key', async () => {
    const { options } = setup();
    const header = encodeSealHeader({
      kind: SealKind.EventBatch,
      timestampMs: T0,
      messageId: randomUUID(),
      senderId: 'dev-1',
      recipientKeyId: keyId(server.encryptionPublicKey),
    });
    const { frame, signedBodyBytes } = layoutSealFrame(header, randomBytes(32), randomBytes(40));
    const input = new Uint8Array([
      ...new TextEncoder().encode(SEAL_SIGNATURE_DOMAIN),
      ...frame.subarray(0, signedBodyBytes),
    ]);
    frame.set(sign(input, device), signedBodyBytes);
    expect(await codeOf(frame, options)).toBe('decrypt_failed');
  });

  it('never rejects on random corruption of a valid frame', async () => {
    const { options } = setup();
    const frame = await sealEvents();
    for (let i = 0; i < 200; i += 1) {
      const corrupted = frame.slice(0, 1 + Math.floor(Math.random() * frame.length));
      corrupted[Math.floor(Math.random() * corrupted.length)] = Math.floor(Math.random() * 256);
      const result = await openMessage(corrupted, options);
      expect(result.ok).toBe(false);
    }
  });
});

describe('HTTP wire form', () => {
  it('round-trips { sealed } and refuses malformed bodies', async () => {
    const frame = await sealEvents();
    const body = JSON.parse(JSON.stringify(encodeSealedBody(frame)));
    const decoded = decodeSealedBody(body);
    expect(decoded.ok && Buffer.compare(decoded.value, frame)).toBe(0);
    for (const bad of [null, {}, { sealed: '' }, { sealed: 'a+b/' }, { sealed: 42 }, 'x']) {
      const result = decodeSealedBody(bad);
      expect(!result.ok && result.error.code).toBe('malformed_frame');
    }
  });
});
