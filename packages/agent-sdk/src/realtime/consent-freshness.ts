import type { ConsentSnapshot } from '@fieldline/core';

/**
 * Where a snapshot stands in the server's consent history: `[policyVersion, stage, decidedAtMs]`.
 * The server's state machine (docs/consent.md) only moves forward along this key: a policy
 * version is published once (then `pending`), decisions on it follow (`granted`, `withdrawn`,
 * `expired`, each stamped by the server), and a later decision never carries an earlier time
 * (`out_of_order`). So `pending` of a version is older than any decision on that version, and
 * `unknown` (no policy yet) is older than everything.
 */
function freshnessKey(snapshot: ConsentSnapshot): readonly [number, number, number] {
  switch (snapshot.status) {
    case 'unknown':
      return [0, 0, 0];
    case 'pending':
      return [snapshot.policyVersion, 0, 0];
    case 'granted':
      return [snapshot.policyVersion, 1, Date.parse(snapshot.grantedAt)];
    case 'withdrawn':
      return [snapshot.policyVersion, 1, Date.parse(snapshot.withdrawnAt)];
    case 'expired':
      return [snapshot.policyVersion, 1, Date.parse(snapshot.expiredAt)];
  }
}

/**
 * Orders two decisions stamped with the same millisecond. A scoped withdrawal keeps the grant's
 * time and only removes scopes, so of two grants with one `grantedAt` the narrower is the later;
 * between a grant and an end of consent the end wins. Both lean towards collecting less, which
 * is the safe side when the order cannot be known.
 */
function tieIsOlder(incoming: ConsentSnapshot, current: ConsentSnapshot): boolean {
  if (incoming.status === 'granted' && current.status === 'granted') {
    const kept = new Set(current.scopes);
    const incomingScopes = new Set(incoming.scopes);
    return incomingScopes.size > kept.size && [...kept].every((scope) => incomingScopes.has(scope));
  }
  return incoming.status === 'granted' && current.status !== 'granted';
}

/**
 * Whether a snapshot is older than the one the agent holds, so applying it would move consent
 * back in time: a lower policy version; `pending` after a decision on the same version; or an
 * earlier decision time. Snapshots arrive on several paths that can overtake one another (the
 * enrollment answer, every HTTP answer, `consent.*` commands on the socket and in HTTP answers,
 * queued since before the change the agent already holds), and only a newer one may be applied.
 * An equal snapshot is not older.
 *
 * @param incoming - the snapshot that arrived.
 * @param current - the agent's snapshot.
 * @returns true when applying `incoming` would go back in time.
 * @example
 * ```ts
 * if (!isOlderConsent(command.body.consent, agentConsent)) await apply(command.body.consent);
 * ```
 */
export function isOlderConsent(incoming: ConsentSnapshot, current: ConsentSnapshot): boolean {
  const a = freshnessKey(incoming);
  const b = freshnessKey(current);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    // An unparseable time (never from a schema-valid snapshot) orders nothing.
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    if (x !== y) return x < y;
  }
  return tieIsOlder(incoming, current);
}
