// A device enrolled over HTTP against a spawned server, sealing frames as the agent does.
import { randomUUID } from 'node:crypto';
import {
  encodeSealedBody,
  generateIdentity,
  type Identity,
  publicKeysOf,
  sealMessage,
} from '@fieldline/core';

export interface TestDevice {
  readonly identity: Identity;
  readonly deviceId: string;
  readonly deviceToken: string;
  readonly serverEncryptionKey: string;
}

/** Issues an install token of `tenant` with the admin token. */
export async function issueInstallToken(
  baseUrl: string,
  adminToken: string,
  tenant: string,
): Promise<string> {
  const response = await fetch(`${baseUrl}/v1/admin/install-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant }),
  });
  if (response.status !== 201) throw new Error(`install token: ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

/** Enrolls a fresh device with `installToken`. */
export async function enrollTestDevice(baseUrl: string, installToken: string): Promise<TestDevice> {
  const identity = await generateIdentity();
  const response = await fetch(`${baseUrl}/v1/enroll`, {
    method: 'POST',
    headers: { authorization: `Bearer ${installToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      hostname: 'attack-lab',
      os: 'linux',
      arch: 'x64',
      publicKeys: publicKeysOf(identity),
    }),
  });
  if (response.status !== 201)
    throw new Error(`enroll: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as {
    deviceId: string;
    deviceToken: string;
    serverPublicKeys: { encryptionPublicKey: string };
  };
  return {
    identity,
    deviceId: body.deviceId,
    deviceToken: body.deviceToken,
    serverEncryptionKey: body.serverPublicKeys.encryptionPublicKey,
  };
}

/**
 * The JSON text of a sealed body `{ "sealed": "…" }` holding `plaintext`, from `device`. The
 * plaintext is given as text so that it can be JSON too deep for `JSON.stringify` to write.
 */
export async function sealedBody(
  device: TestDevice,
  kind: number,
  plaintext: string,
): Promise<string> {
  const frame = await sealMessage({
    kind,
    senderId: device.deviceId,
    messageId: randomUUID(),
    timestampMs: Date.now(),
    plaintext: new TextEncoder().encode(plaintext),
    recipientEncryptionPublicKey: device.serverEncryptionKey,
    sender: device.identity,
  });
  return JSON.stringify(encodeSealedBody(frame));
}
