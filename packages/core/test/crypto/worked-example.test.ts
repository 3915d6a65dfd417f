import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { describe, expect, it } from 'vitest';
import { createMemoryReplayGuard, openJson, SealKind, verify } from '../../src/crypto/index.js';
import { sealMessageWithFixedEphemeralForTesting } from '../../src/crypto/seal.js';
import { bytesFor, fixedIdentity, manualClock } from './fixtures.js';

/**
 * The worked example of docs/protocol.md §3. Every input is fixed (keys from labels, the
 * HPKE ephemeral key from `ikmE`), and Ed25519 is deterministic, so the frame is too: this test
 * pins the format byte for byte. Run with FIELDLINE_PRINT_EXAMPLE=1 to print the dump.
 */
const device = fixedIdentity('device');
const server = fixedIdentity('server');
const timestampMs = Date.UTC(2025, 0, 15, 12, 0, 0);
const payload = { events: [{ type: 'app.focus', seq: 1 }] };

async function workedExampleFrame(): Promise<Uint8Array> {
  return sealMessageWithFixedEphemeralForTesting(
    {
      kind: SealKind.EventBatch,
      senderId: 'dev-1',
      messageId: '0194699a-4c00-7000-8000-000000000001',
      timestampMs,
      plaintext: new TextEncoder().encode(JSON.stringify(payload)),
      recipientEncryptionPublicKey: server.encryptionPublicKey,
      sender: device,
    },
    bytesFor('worked example ephemeral'),
  );
}

function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = Buffer.from(bytes.subarray(at, at + 16)).toString('hex');
    lines.push(`${at.toString(16).padStart(4, '0')}  ${row.replace(/(..)(?!$)/g, '$1 ')}`);
  }
  return lines.join('\n');
}

const EXPECTED_FRAME_HEX = [
  '464c01010000019469d5b2000194699a4c007000800000000000000100056465',
  '762d3129cd77623bf87b4af743642e9f65965a02a079190cafc9533bf3b7333b',
  'fcfbca48e9bc79c435155600000039f450556beeca10cfc03255760cc017cb81',
  '25077624e74a26732953f61cd0babd1f3ad5754563557ba45e36e9d2de83461d',
  'a4e36b6e6309e461e966b5e65e9839b447ad2216f1c14bcfc974b45285244351',
  '118cc96eb4f3339f70283741ffd5116d41a8c3e04afced709abef2858534d6ee',
  '2c0f593041c5a400',
].join('');

describe('worked example', () => {
  it('is reproducible byte for byte and opens', async () => {
    const frame = await workedExampleFrame();
    if (process.env.FIELDLINE_PRINT_EXAMPLE === '1') {
      const keys = {
        deviceSigningSeed: device.signingPrivateKey,
        deviceSigningPublicKey: device.signingPublicKey,
        serverEncryptionPrivateKey: server.encryptionPrivateKey,
        serverEncryptionPublicKey: server.encryptionPublicKey,
        ikmE: bytesFor('worked example ephemeral'),
      };
      for (const [name, value] of Object.entries(keys)) {
        console.log(`${name}: ${Buffer.from(value).toString('hex')}`);
      }
      console.log(`frame (${frame.length} bytes):\n${hexDump(frame)}`);
      console.log(Buffer.from(frame).toString('hex'));
    }
    expect(Buffer.from(frame).toString('hex')).toBe(EXPECTED_FRAME_HEX);
    const clock = manualClock(timestampMs);
    const opened = await openJson(frame, {
      recipient: server,
      senderSigningPublicKey: device.signingPublicKey,
      clock,
      replayGuard: createMemoryReplayGuard({ clock }),
    });
    expect(opened.ok && opened.value.payload).toEqual(payload);
  });

  it('opens with a stock RFC 9180 implementation (pure-JS AEAD) and a plain Ed25519 verify', async () => {
    const frame = await workedExampleFrame();
    // Offsets for a 5-byte sender id, straight from the layout table in the doc.
    const header = frame.subarray(0, 43);
    const enc = frame.subarray(43, 75);
    const ciphertextBytes = new DataView(frame.buffer, frame.byteOffset).getUint32(75);
    const ciphertext = frame.subarray(79, 79 + ciphertextBytes);
    const signature = frame.subarray(79 + ciphertextBytes);
    expect(signature).toHaveLength(64);

    const signed = Buffer.concat([
      Buffer.from('fieldline/v1 seal signature'),
      frame.subarray(0, 79 + ciphertextBytes),
    ]);
    expect(verify(signed, signature, device.signingPublicKey)).toBe(true);

    const stock = new CipherSuite({
      kem: new DhkemX25519HkdfSha256(),
      kdf: new HkdfSha256(),
      aead: new Chacha20Poly1305(),
    });
    const recipientKey = await stock.kem.deserializePrivateKey(server.encryptionPrivateKey);
    const plaintext = await stock.open(
      { recipientKey, enc, info: new TextEncoder().encode('fieldline/v1 seal') },
      ciphertext,
      header,
    );
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(payload);
  });
});
