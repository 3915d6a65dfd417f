/**
 * Hands one observation from a collector to the agent. The agent validates it
 * against the event registry, checks consent for the collector's scope, and
 * stamps the envelope; a collector never sees whether it was accepted.
 *
 * @param type - a registered event type, e.g. `activity.app.launched`.
 * @param data - the event's data.
 * @param occurredAtMs - when it happened, if not now.
 */
export type CollectorEmit = (
  type: string,
  data: Record<string, unknown>,
  occurredAtMs?: number,
) => void;

/** Settings the agent passes to `start()` from the device config's `collectors` entry. */
export interface CollectorStartOptions {
  /** The config's polling interval for this collector, when it sets one. */
  readonly intervalMs?: number;
}

/** Whether a collector can work on this machine, and why not. */
export type CollectorSupport =
  | { readonly supported: true }
  | { readonly supported: false; readonly reason: string };

/**
 * A source of events on the device (process activity, network volume, idle
 * time…). The agent starts a collector only while consent for its `scope` is
 * granted (and its config entry is enabled), and stops it at once when
 * consent is withdrawn. A collector the platform cannot support says so in
 * `support()` and is never started: it must not emit synthetic data.
 */
export interface Collector {
  /** Name matching the key in the device config's `collectors` (e.g. `app-activity`). */
  readonly name: string;
  /** The consent scope of everything it emits. */
  readonly scope: string;
  /** Whether it can run here. */
  support(): CollectorSupport | Promise<CollectorSupport>;
  /**
   * Starts observing; `emit` may be called until `stop()` resolves. `options`
   * carries the server's settings for this collector (its polling interval),
   * which take precedence over the collector's own defaults.
   */
  start(emit: CollectorEmit, options?: CollectorStartOptions): void | Promise<void>;
  /** Stops observing and releases timers and handles. Must be idempotent. */
  stop(): void | Promise<void>;
}
