import { join } from 'node:path';
import {
  type Clock,
  exportedIdentitySchema,
  exportIdentity,
  generateIdentity,
  type Identity,
  importIdentity,
  type PublicKeys,
  publicKeysOf,
  type ServerKeyRotation,
  serverKeyRotationSchema,
  signServerKeyRotation,
  systemClock,
} from '@fieldline/core';
import type { ServerKeyHistory } from '@fieldline/server-sdk';
import { z } from 'zod';
import { ServerStartError } from '../errors/server-start-error.js';
import { readPrivateFile, replacePrivateFile } from '../files/private-files.js';
import { loadServerIdentity } from './load-server-identity.js';

/** The identity file in a data directory. */
export const SERVER_IDENTITY_FILE = 'server-identity.json';
/** Earlier identities (secret) and the signed rotation chain, beside the identity. */
export const SERVER_KEY_HISTORY_FILE = 'server-key-history.json';

const historyFileSchema = z.strictObject({
  version: z.literal(1),
  previous: z.array(
    z.strictObject({
      identity: exportedIdentitySchema,
      notAfter: z.iso.datetime({ offset: true }),
    }),
  ),
  rotations: z.array(serverKeyRotationSchema),
});

type HistoryFile = z.infer<typeof historyFileSchema>;

async function readHistoryFile(path: string): Promise<HistoryFile> {
  const text = await readPrivateFile(path);
  if (text === undefined) return { version: 1, previous: [], rotations: [] };
  let parsed: ReturnType<typeof historyFileSchema.safeParse>;
  try {
    parsed = historyFileSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = historyFileSchema.safeParse(undefined);
  }
  if (!parsed.success) {
    throw new ServerStartError(
      'invalid_identity_file',
      `${path} is not a valid server key history. Restore it from a backup; without it, agents ` +
        'that pinned an earlier server key cannot follow the rotation.',
      { details: { path } },
    );
  }
  return parsed.data;
}

function importOrThrow(path: string, exported: unknown): Identity {
  const imported = importIdentity(exported);
  if (!imported.ok) {
    throw new ServerStartError(
      'invalid_identity_file',
      `${path} holds an identity that cannot be imported (${imported.error.message}).`,
      { details: { path } },
    );
  }
  return imported.value;
}

// The rotations that lead to `current`, walked back from it: a rotation left behind by a
// rotate-keys run that stopped before its last write leads nowhere and is dropped.
function chainTo(
  current: PublicKeys,
  rotations: readonly ServerKeyRotation[],
): ServerKeyRotation[] {
  const chain: ServerKeyRotation[] = [];
  let target = current.signingPublicKey;
  for (let index = rotations.length - 1; index >= 0; index -= 1) {
    const rotation = rotations[index];
    if (rotation !== undefined && rotation.publicKeys.signingPublicKey === target) {
      chain.unshift(rotation);
      target = rotation.previousSigningPublicKey;
    }
  }
  return chain;
}

/**
 * Loads the server's earlier identities and rotation chain from `server-key-history.json`
 * (0600), for `createFieldlineApp({ serverKeyHistory })`.
 *
 * @param path - the history file.
 * @param current - the current identity (the chain must lead to it).
 * @returns the history; empty when the file does not exist.
 * @throws {@link ServerStartError} `invalid_identity_file` or `insecure_file_permissions`.
 */
export async function loadServerKeyHistory(
  path: string,
  current: Identity,
): Promise<ServerKeyHistory> {
  const file = await readHistoryFile(path);
  return {
    previous: file.previous.map((entry) => ({
      identity: importOrThrow(path, entry.identity),
      notAfter: new Date(entry.notAfter),
    })),
    rotations: chainTo(publicKeysOf(current), file.rotations),
  };
}

/** What {@link rotateServerKeys} did. */
export interface RotatedServerKeys {
  readonly previous: PublicKeys;
  readonly current: PublicKeys;
  /** Until when frames sealed to the previous key are still opened (RFC 3339). */
  readonly previousNotAfter: string;
}

/**
 * Rotates the server identity of a data directory (`fieldline-server rotate-keys`): makes a
 * new identity, signs the rotation with the current one, keeps the current one as `previous`
 * for the overlap window, then makes the new one current. Each file is replaced atomically
 * (0600); the history is written before the identity, so a stop in between leaves the old
 * identity in force. Running servers use the new key after a restart.
 *
 * @param dataDir - the data directory (its identity must exist).
 * @param options - the overlap in days (default 7) and a clock.
 * @returns the previous and new public keys and the end of the overlap.
 * @throws {@link ServerStartError} `invalid_identity_file` when a file is unreadable.
 */
export async function rotateServerKeys(
  dataDir: string,
  options: { readonly overlapDays?: number; readonly clock?: Clock } = {},
): Promise<RotatedServerKeys> {
  const clock = options.clock ?? systemClock;
  const identityPath = join(dataDir, SERVER_IDENTITY_FILE);
  const historyPath = join(dataDir, SERVER_KEY_HISTORY_FILE);
  const { identity: current } = await loadServerIdentity(identityPath);
  const history = await readHistoryFile(historyPath);
  const next = await generateIdentity();
  const nowMs = clock.now();
  const issuedAt = new Date(nowMs).toISOString();
  const previousNotAfter = new Date(nowMs + (options.overlapDays ?? 7) * 86_400_000).toISOString();
  const rotation = signServerKeyRotation(current, publicKeysOf(next), {
    issuedAt,
    previousNotAfter,
  });
  const updated: HistoryFile = {
    version: 1,
    // Identities past their window open nothing any more: forget their private keys.
    previous: [
      ...history.previous.filter((entry) => new Date(entry.notAfter).getTime() > nowMs),
      { identity: exportIdentity(current), notAfter: previousNotAfter },
    ],
    rotations: [...chainTo(publicKeysOf(current), history.rotations), rotation],
  };
  await replacePrivateFile(historyPath, `${JSON.stringify(updated, null, 2)}\n`);
  await replacePrivateFile(identityPath, `${JSON.stringify(exportIdentity(next), null, 2)}\n`);
  return { previous: publicKeysOf(current), current: publicKeysOf(next), previousNotAfter };
}
