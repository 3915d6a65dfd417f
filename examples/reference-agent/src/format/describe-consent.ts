import type { ConsentSnapshot } from '@fieldline/core';

/**
 * The consent state in a few words, e.g. `granted (policy v1: activity, network)`.
 *
 * @param consent - the snapshot the server last sent.
 * @returns the description.
 * @example
 * ```ts
 * describeConsent({ status: 'pending', policyVersion: 2 }); // 'pending (policy v2)'
 * ```
 */
export function describeConsent(consent: ConsentSnapshot): string {
  switch (consent.status) {
    case 'unknown':
      return 'unknown (the server has not said yet)';
    case 'pending':
      return `pending (policy v${consent.policyVersion}; nothing is collected until it is granted)`;
    case 'granted':
      return `granted (policy v${consent.policyVersion}: ${consent.scopes.join(', ')}${
        consent.expiresAt === undefined ? '' : `; expires ${consent.expiresAt}`
      })`;
    case 'withdrawn':
      return `withdrawn (policy v${consent.policyVersion}, at ${consent.withdrawnAt})`;
    case 'expired':
      return `expired (policy v${consent.policyVersion}, at ${consent.expiredAt})`;
  }
}

/**
 * Consent per scope: which scopes are granted, for the status view.
 *
 * @param consent - the snapshot the server last sent.
 * @param scopes - scopes to list besides the granted ones (e.g. the collectors' scopes).
 * @returns one `[scope, 'granted' | 'not granted']` pair per scope, sorted.
 * @example
 * ```ts
 * consentByScope(snapshot, ['activity', 'network']); // [['activity', 'granted'], ['network', 'not granted']]
 * ```
 */
export function consentByScope(
  consent: ConsentSnapshot,
  scopes: readonly string[],
): ReadonlyArray<readonly [string, 'granted' | 'not granted']> {
  const granted = new Set(consent.status === 'granted' ? consent.scopes : []);
  const all = [...new Set([...granted, ...scopes])].sort();
  return all.map((scope) => [scope, granted.has(scope) ? 'granted' : 'not granted'] as const);
}
