import type { ConsentSnapshot } from '@fieldline/core';

function changedAtMs(snapshot: ConsentSnapshot): number | undefined {
  switch (snapshot.status) {
    case 'granted':
      return Date.parse(snapshot.grantedAt);
    case 'withdrawn':
      return Date.parse(snapshot.withdrawnAt);
    case 'expired':
      return Date.parse(snapshot.expiredAt);
    default:
      return undefined;
  }
}

/**
 * Whether a pushed snapshot is older than the one the agent holds: a lower policy version, or
 * the same version with an earlier grant, withdrawal or expiry time. Snapshots without a time
 * (unknown, pending) are never called older on time alone, so the server's word wins.
 *
 * @param incoming - the snapshot a command carries.
 * @param current - the agent's snapshot.
 * @returns true when applying `incoming` would go back in time.
 * @example
 * ```ts
 * if (!isOlderConsent(command.body.consent, agentConsent)) await apply(command.body.consent);
 * ```
 */
export function isOlderConsent(incoming: ConsentSnapshot, current: ConsentSnapshot): boolean {
  if (incoming.status === 'unknown' || current.status === 'unknown') return false;
  if (incoming.policyVersion !== current.policyVersion) {
    return incoming.policyVersion < current.policyVersion;
  }
  const incomingAt = changedAtMs(incoming);
  const currentAt = changedAtMs(current);
  if (incomingAt === undefined || currentAt === undefined) return false;
  return incomingAt < currentAt;
}
