import { exportIdentity, generateIdentity, type Identity, importIdentity } from '@fieldline/core';
import { ServerStartError } from '../errors/server-start-error.js';
import { readPrivateFile, writePrivateFile } from '../files/private-files.js';

/** The server identity, and whether this call created it. */
export interface LoadedServerIdentity {
  /** The server's long-term keys. */
  readonly identity: Identity;
  /** True when the file did not exist and a new identity was written. */
  readonly created: boolean;
}

function parseIdentityFile(path: string, text: string): Identity {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ServerStartError(
      'invalid_identity_file',
      `${path} is not valid JSON, so the server identity cannot be loaded. Restore it from a ` +
        'backup; deleting it creates a new identity, and every enrolled agent (which pinned the ' +
        'old public key) would then refuse this server.',
      { details: { path }, cause: error },
    );
  }
  const imported = importIdentity(json);
  if (!imported.ok) {
    throw new ServerStartError(
      'invalid_identity_file',
      `${path} is not a valid server identity (${imported.error.message}). Restore it from a ` +
        'backup; deleting it creates a new identity that enrolled agents will not accept.',
      { details: { path, ...imported.error.details }, cause: imported.error },
    );
  }
  return imported.value;
}

/**
 * Loads the server identity from `path`, or generates one and stores it there
 * (owner-only, 0600) when the file does not exist. Agents pin the public keys
 * at enrollment, so the file must survive restarts and upgrades.
 *
 * @param path - the identity file, e.g. `.fieldline/server-identity.json`; its directory must exist.
 * @returns the identity and whether it was just created.
 * @throws {@link ServerStartError} `invalid_identity_file` when the file is malformed, or
 *   `insecure_file_permissions` when its mode is looser than 0600.
 * @example
 * ```ts
 * const { identity } = await loadServerIdentity('.fieldline/server-identity.json');
 * ```
 */
export async function loadServerIdentity(path: string): Promise<LoadedServerIdentity> {
  const existing = await readPrivateFile(path);
  if (existing !== undefined)
    return { identity: parseIdentityFile(path, existing), created: false };
  const identity = await generateIdentity();
  try {
    await writePrivateFile(path, `${JSON.stringify(exportIdentity(identity), null, 2)}\n`);
  } catch (error) {
    // Another process created it first: use theirs, so both serve one identity.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return loadServerIdentity(path);
  }
  return { identity, created: true };
}
