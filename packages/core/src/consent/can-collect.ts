import { OPERATIONAL_SCOPE } from './consent-scopes.js';
import type { ConsentState } from './consent-state.js';

/**
 * Whether data of `scope` may be collected at `atMs` in `state`: the single
 * consent gate the agent applies before collecting and the server applies at an
 * event's `occurredAt`.
 *
 * True when the state is `granted`, the scope is among the granted scopes, and
 * `grantedAt <= atMs < expiresAt` (no upper bound without `expiresAt`). The
 * {@link OPERATIONAL_SCOPE} is true in every state, because it carries no
 * personal activity. Anything else, including a malformed state or time, is
 * false: the gate fails closed and never throws.
 *
 * @param state - the subject's consent state.
 * @param scope - the consent scope of the data (the event type's scope).
 * @param atMs - when the data is (or was) collected, epoch ms.
 * @returns true when collection is allowed.
 * @example
 * ```ts
 * if (canCollect(state, 'activity', clock.now())) buffer.push(event);
 * ```
 */
export function canCollect(state: ConsentState, scope: string, atMs: number): boolean {
  if (scope === OPERATIONAL_SCOPE) return true;
  // Defensive on purpose: this runs on hot paths with state read back from disk.
  if (typeof state !== 'object' || state === null || state.status !== 'granted') return false;
  if (!Number.isFinite(atMs) || !Array.isArray(state.scopes)) return false;
  if (!(atMs >= state.grantedAt)) return false;
  if (state.expiresAt !== undefined && !(atMs < state.expiresAt)) return false;
  return state.scopes.includes(scope);
}
