// The real-time session of docs/protocol.md §4.2: the server's signed offer, boxes opened by
// count in arrival order, and every way a box or an offer can be wrong.
import { describe, expect, it } from 'vitest';
import {
  acceptSessionOffer,
  commandBoxAad,
  createSessionSealer,
  decodeBase64Url,
  encodeBase64Url,
  generateIdentity,
  type Identity,
  messageBoxAad,
  publicKeysOf,
  type SessionOffer,
  type SessionOpener,
  type SessionSealer,
  sessionInfoBytes,
  sessionSignatureBytes,
} from '../../src/index.js';

const text = new TextEncoder();
const read = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function parties() {
  const server = await generateIdentity();
  const device = await generateIdentity();
  return { server, device, deviceId: 'dev_session_1', nonce: 'bm9uY2Utbm9uY2Utbm9uY2U' };
}

function sealerFor(server: Identity, device: Identity, deviceId: string, nonce: string) {
  return createSessionSealer({
    server,
    deviceId,
    nonce,
    deviceEncryptionPublicKey: publicKeysOf(device).encryptionPublicKey,
  });
}

async function startSession(
  server: Identity,
  device: Identity,
  deviceId: string,
  nonce: string,
): Promise<{ offer: SessionOffer; sealer: SessionSealer; opener: SessionOpener }> {
  const { offer, sealer } = await sealerFor(server, device, deviceId, nonce);
  const accepted = acceptSessionOffer({
    device,
    deviceId,
    nonce,
    offer,
    serverSigningPublicKey: publicKeysOf(server).signingPublicKey,
  });
  if (!accepted.ok) throw accepted.error;
  return { offer, sealer, opener: accepted.value };
}

describe('real-time session', () => {
  it('spells the info and signed bytes as the protocol says', () => {
    expect(read(sessionInfoBytes('dev_1', 'n0nce'))).toBe('fieldline/v1 session\ndev_1\nn0nce');
    expect(read(sessionSignatureBytes('dev_1', 'n0nce', 'ENC'))).toBe(
      'fieldline/v1 session signature\ndev_1\nn0nce\nENC',
    );
    expect(read(commandBoxAad('cmd_1'))).toBe('fieldline/v1 command\ncmd_1');
    expect(read(messageBoxAad({ id: 'm1', channel: 'c', type: 't', ts: 5, replyTo: 'r1' }))).toBe(
      'fieldline/v1 message\nm1\nc\nt\n5\nr1',
    );
    expect(read(messageBoxAad({ id: 'm1', channel: 'c', type: 't', ts: 5 }))).toBe(
      'fieldline/v1 message\nm1\nc\nt\n5\n',
    );
  });

  it('opens boxes in the order they were sealed, whatever their sizes', async () => {
    const { server, device, deviceId, nonce } = await parties();
    const { offer, sealer, opener } = await startSession(server, device, deviceId, nonce);
    const enc = decodeBase64Url(offer.enc);
    expect(enc.ok ? enc.value.byteLength : 'not base64url').toBe(32);
    // Sealed concurrently: a large body first must not let a small one overtake it.
    const bodies = ['x'.repeat(200_000), 'a', JSON.stringify({ n: 3 }), ''];
    const boxes = await Promise.all(
      bodies.map((body, i) => sealer.seal(text.encode(body), commandBoxAad(`c${i}`))),
    );
    const opened = await Promise.all(
      boxes.map((box, i) => opener.open(box, commandBoxAad(`c${i}`))),
    );
    expect(opened.map((result) => (result.ok ? read(result.value) : result.error.code))).toEqual(
      bodies,
    );
  });

  it('breaks for good at a box that is altered, reordered or bound to other fields', async () => {
    const { server, device, deviceId, nonce } = await parties();
    const cases: Array<(boxes: string[]) => Array<[string, Uint8Array]>> = [
      // A flipped byte.
      (boxes) => {
        const bytes = decodeBase64Url(boxes[0] as string);
        if (!bytes.ok) throw bytes.error;
        const altered = Uint8Array.from(bytes.value);
        altered[0] = (altered[0] ?? 0) ^ 1;
        return [
          [encodeBase64Url(altered), commandBoxAad('c0')],
          [boxes[1] as string, commandBoxAad('c1')],
        ];
      },
      // Swapped: each box opens only at its own position.
      (boxes) => [
        [boxes[1] as string, commandBoxAad('c1')],
        [boxes[0] as string, commandBoxAad('c0')],
      ],
      // The id in clear changed.
      (boxes) => [
        [boxes[0] as string, commandBoxAad('c9')],
        [boxes[1] as string, commandBoxAad('c1')],
      ],
      // A replay of the first box.
      (boxes) => [
        [boxes[0] as string, commandBoxAad('c0')],
        [boxes[0] as string, commandBoxAad('c0')],
      ],
    ];
    for (const [index, arrange] of cases.entries()) {
      const { sealer, opener } = await startSession(server, device, deviceId, nonce);
      const boxes = [
        await sealer.seal(text.encode('first'), commandBoxAad('c0')),
        await sealer.seal(text.encode('second'), commandBoxAad('c1')),
      ];
      const results = await Promise.all(arrange(boxes).map(([box, aad]) => opener.open(box, aad)));
      const codes = results.map((result) => (result.ok ? read(result.value) : result.error.code));
      expect(codes, `case ${index}`).toContain('decrypt_failed');
      // Once broken, even a genuine later box is refused.
      const third = await sealer.seal(text.encode('third'), commandBoxAad('c2'));
      const after = await opener.open(third, commandBoxAad('c2'));
      expect(after.ok, `case ${index}`).toBe(false);
    }
  });

  it('refuses an offer not signed by the pinned key, or made for another device or nonce', async () => {
    const { server, device, deviceId, nonce } = await parties();
    const impostor = await generateIdentity();
    const { offer } = await sealerFor(server, device, deviceId, nonce);
    const accept = (overrides: Partial<Parameters<typeof acceptSessionOffer>[0]>) => {
      const result = acceptSessionOffer({
        device,
        deviceId,
        nonce,
        offer,
        serverSigningPublicKey: publicKeysOf(server).signingPublicKey,
        ...overrides,
      });
      return result.ok ? 'accepted' : result.error.code;
    };
    expect(accept({})).toBe('accepted');
    expect(accept({ serverSigningPublicKey: publicKeysOf(impostor).signingPublicKey })).toBe(
      'bad_signature',
    );
    expect(accept({ nonce: 'YW5vdGhlci1ub25jZS1ub25jZQ' })).toBe('bad_signature');
    expect(accept({ deviceId: 'dev_other' })).toBe('bad_signature');
    expect(accept({ offer: { ...offer, enc: offer.enc.slice(0, 20) } })).toBe('malformed_frame');
    expect(accept({ offer: { ...offer, sig: '!!' } })).toBe('malformed_frame');
    expect(accept({ offer: { ...offer, sig: encodeBase64Url(new Uint8Array(10)) } })).toBe(
      'malformed_frame',
    );
  });

  it('cannot be opened by another device, even with a valid offer signature', async () => {
    const { server, device, deviceId, nonce } = await parties();
    const other = await generateIdentity();
    const { offer, sealer } = await sealerFor(server, device, deviceId, nonce);
    const stolen = acceptSessionOffer({
      device: other,
      deviceId,
      nonce,
      offer,
      serverSigningPublicKey: publicKeysOf(server).signingPublicKey,
    });
    if (!stolen.ok) throw stolen.error;
    const box = await sealer.seal(text.encode('secret'), commandBoxAad('c0'));
    const opened = await stolen.value.open(box, commandBoxAad('c0'));
    expect(opened.ok ? 'opened' : opened.error.code).toBe('decrypt_failed');
  });

  it('rejects a device key of the wrong size with a typed error', async () => {
    const { server, deviceId, nonce } = await parties();
    await expect(
      createSessionSealer({
        server,
        deviceId,
        nonce,
        deviceEncryptionPublicKey: new Uint8Array(31),
      }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('answers a box that is not base64url with malformed_frame', async () => {
    const { server, device, deviceId, nonce } = await parties();
    const { opener } = await startSession(server, device, deviceId, nonce);
    const opened = await opener.open('not base64url!', commandBoxAad('c0'));
    expect(opened.ok ? 'opened' : opened.error.code).toBe('malformed_frame');
  });
});
