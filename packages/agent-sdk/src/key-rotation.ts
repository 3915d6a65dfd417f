import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type Clock,
  createKeyRotationRequest,
  exportedIdentitySchema,
  exportIdentity,
  generateIdentity,
  type Identity,
  importIdentity,
  publicKeysOf,
  type Random,
  rotateKeysResponseSchema,
} from '@fieldline/core';
import { AgentError } from './agent-errors.js';
import { readStateFile, writePrivateFile } from './state/private-file.js';
import type { EnrollmentFile, StatePaths } from './state/state-files.js';
import type { Transport } from './transport/http-transport.js';

/** What {@link rotateDeviceKeys} needs. */
export interface KeyRotationDeps {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly random: Random;
}

async function pendingIdentity(paths: StatePaths): Promise<Identity | undefined> {
  const file = await readStateFile(paths.nextIdentity, exportedIdentitySchema, {
    private: true,
  }).catch(() => undefined);
  if (file === undefined) return undefined;
  const imported = importIdentity(file);
  return imported.ok ? imported.value : undefined;
}

/**
 * Whether a rotation was started and not confirmed (the agent stopped between its request
 * and the server's answer).
 *
 * @param paths - the state directory layout.
 * @returns true when `identity.next.json` holds a readable identity.
 */
export async function hasPendingKeyRotation(paths: StatePaths): Promise<boolean> {
  return (await pendingIdentity(paths)) !== undefined;
}

/**
 * Rotates the device's keys (docs/protocol.md §5.3). The new identity is written first to
 * `identity.next.json` (0600, atomic), then offered to the server signed by both keys; only
 * once the server confirms it is it renamed over `identity.json` (atomic). A crash or a lost
 * answer leaves the pending identity, and the next call offers that same one again (the
 * server answers a retry of an applied rotation with the same keys), so the device never
 * ends up with a key the server does not know.
 *
 * @param paths - the state directory layout.
 * @param enrollment - the device's enrollment (server URL, id, token).
 * @param current - the identity the server knows now.
 * @param deps - transport, clock and random source.
 * @returns the new identity, now the device's.
 * @throws {@link AgentError} `server_unreachable`, or `key_rotation_failed` with the server's
 *   error code (the pending identity is then discarded when the server refused it for good).
 */
export async function rotateDeviceKeys(
  paths: StatePaths,
  enrollment: EnrollmentFile,
  current: Identity,
  deps: KeyRotationDeps,
): Promise<Identity> {
  let next = await pendingIdentity(paths);
  if (next === undefined) {
    next = await generateIdentity();
    await writePrivateFile(
      paths.nextIdentity,
      `${JSON.stringify(exportIdentity(next), null, 2)}\n`,
    );
  }
  const body = createKeyRotationRequest(enrollment.deviceId, current, next, {
    clock: deps.clock,
    random: deps.random,
  });
  let response: Awaited<ReturnType<Transport['request']>>;
  try {
    response = await deps.transport.request({
      method: 'POST',
      url: `${enrollment.serverUrl}/v1/keys/rotate`,
      headers: { authorization: `Bearer ${enrollment.deviceToken}` },
      body: JSON.stringify(body),
    });
  } catch (cause) {
    throw new AgentError('server_unreachable', 'Could not reach the server to rotate keys.', {
      cause,
    });
  }
  const parsed = rotateKeysResponseSchema.safeParse(response.body);
  const expected = publicKeysOf(next);
  if (
    response.status === 200 &&
    parsed.success &&
    parsed.data.publicKeys.signingPublicKey === expected.signingPublicKey &&
    parsed.data.publicKeys.encryptionPublicKey === expected.encryptionPublicKey
  ) {
    await rename(paths.nextIdentity, paths.identity);
    // The rename is the commit: make it durable before anything signs with the new key.
    const directory = await open(dirname(paths.identity), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    return next;
  }
  const error = (response.body as { error?: { code?: string; message?: string } } | undefined)
    ?.error;
  // Refused for good (not a server hiccup): the pending key will never be accepted.
  if (response.status >= 400 && response.status < 500 && response.status !== 429) {
    if (error?.code !== 'replayed') await unlink(paths.nextIdentity).catch(() => undefined);
  }
  throw new AgentError(
    'key_rotation_failed',
    `Key rotation was refused (${response.status} ${error?.code ?? 'unknown'}): ${error?.message ?? 'no details'}`,
    { details: { status: response.status, code: error?.code } },
  );
}
