/**
 * Scope of the built-in activity event types (app launch/close, window focus,
 * idle/active). Personal activity: collected only under a live grant.
 */
export const ACTIVITY_SCOPE = 'activity';

/**
 * Scope of the built-in network event type (traffic volume only, never
 * destinations or content). Collected only under a live grant.
 */
export const NETWORK_SCOPE = 'network';

/**
 * Scope of data needed to run the service that holds no personal activity: job
 * reports, heartbeats, enrollment and status. It is always collectable, in every
 * consent state, because it does not rest on consent (it is what the device
 * agreement needs to work at all), and withholding it would stop the agent from
 * even learning that consent changed. Never put personal activity under it.
 */
export const OPERATIONAL_SCOPE = 'operational';

/** A scope used by the built-in event types. */
export type BuiltInScope = typeof ACTIVITY_SCOPE | typeof NETWORK_SCOPE | typeof OPERATIONAL_SCOPE;

/**
 * The scopes used by the built-in event types: `activity` (app, window, idle),
 * `network` (network volume) and `operational` (job reports, heartbeats).
 * Integrators may define more scopes for their own event types.
 */
export const BUILT_IN_SCOPES: readonly BuiltInScope[] = Object.freeze([
  ACTIVITY_SCOPE,
  NETWORK_SCOPE,
  OPERATIONAL_SCOPE,
]);
