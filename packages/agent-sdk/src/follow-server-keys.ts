import { serverKeysResponseSchema, verifyServerKeyChain } from '@fieldline/core';
import { writePrivateFile } from './state/private-file.js';
import type { EnrollmentFile, StatePaths } from './state/state-files.js';
import type { Transport } from './transport/http-transport.js';

/**
 * Follows a server key rotation (docs/protocol.md §5.5): fetches `GET /v1/server-keys`,
 * walks the signed rotations from the pinned keys, and when they lead to the server's current
 * keys pins those instead, writing the enrollment file atomically (0600). An answer whose
 * chain does not verify from the pinned keys changes nothing.
 *
 * @param paths - the state directory layout.
 * @param enrollment - the enrollment with the pinned keys.
 * @param transport - how to reach the server.
 * @returns the enrollment now in force: a new one when the pin moved, else the same object.
 */
export async function followServerKeys(
  paths: StatePaths,
  enrollment: EnrollmentFile,
  transport: Transport,
): Promise<EnrollmentFile> {
  const response = await transport.request({
    method: 'GET',
    url: `${enrollment.serverUrl}/v1/server-keys`,
  });
  if (response.status !== 200) return enrollment;
  const parsed = serverKeysResponseSchema.safeParse(response.body);
  if (!parsed.success) return enrollment;
  const next = verifyServerKeyChain(enrollment.serverPublicKeys, parsed.data);
  if (
    next === undefined ||
    (next.signingPublicKey === enrollment.serverPublicKeys.signingPublicKey &&
      next.encryptionPublicKey === enrollment.serverPublicKeys.encryptionPublicKey)
  ) {
    return enrollment;
  }
  const updated: EnrollmentFile = { ...enrollment, serverPublicKeys: next };
  await writePrivateFile(paths.enrollment, `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}
