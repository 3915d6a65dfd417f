// Small HTTP helpers over real sockets.
import { generateIdentity, publicKeysOf } from '@fieldline/core';

export async function enrollBody() {
  const identity = await generateIdentity();
  return {
    hostname: 'lab-01',
    os: 'linux',
    arch: 'x64',
    agentVersion: '0.1.0',
    publicKeys: publicKeysOf(identity),
  };
}

/** The fields the tests read from enrollment answers and errors. */
export interface JsonAnswer {
  readonly deviceId?: string;
  readonly deviceToken?: string;
  readonly tenant?: string;
  readonly serverPublicKeys?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

export async function postJson(url: string, token: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as JsonAnswer };
}
