import { type RequestSourceOf, remoteAddressSource } from './request-source.js';
import type { StandingGuardOptions } from './standing-guard.js';

/** Tuning of the real-time gateway; every field has the documented default. */
export interface RealtimeGatewayOptions {
  /**
   * How often a connected device's standing is re-read, and when a device counts as cloned.
   * @default see {@link StandingGuardOptions}
   */
  readonly standing?: StandingGuardOptions;
  /**
   * Largest accepted message, in bytes; larger closes with 1009.
   * @default 1_048_576
   */
  readonly maxPayloadBytes?: number;
  /**
   * Most unsent bytes the server keeps for one connection before closing it with 4002.
   * @default 1_048_576
   */
  readonly maxBufferedBytes?: number;
  /**
   * Time a new connection has to send its hello or resume (4408 after).
   * @default 10_000
   */
  readonly helloTimeoutMs?: number;
  /**
   * Most sockets that may be between the upgrade and the welcome at once, all sources together.
   * When full, an upgrade from a source holding fewer than the largest holder takes that
   * holder's oldest socket still waiting for its hello (closed with 1013); otherwise it is
   * answered `503` with `Retry-After: 1`. A flood of silent sockets costs bounded memory.
   * @default 1_000
   */
  readonly maxPendingHandshakes?: number;
  /**
   * Most sockets one source (see `sourceOf`) may hold between the upgrade and the welcome;
   * further upgrades from it are answered `429` with `Retry-After: 1`, so one client cannot
   * keep everyone else out.
   * @default 64
   */
  readonly maxPendingHandshakesPerSource?: number;
  /**
   * Names the source of an upgrade request, the key of `maxPendingHandshakesPerSource`. Behind
   * a reverse proxy every peer is the proxy: pass `forwardedForSource({ trustedProxies })`.
   * @default remoteAddressSource (the peer's IP address; its /64 for IPv6)
   */
  readonly sourceOf?: RequestSourceOf;
  /**
   * Largest accepted difference between a hello's `ts` and the server clock.
   * @default 60_000
   */
  readonly maxSkewMs?: number;
  /**
   * Lifetime of a session token.
   * @default 86_400_000 (24 h)
   */
  readonly sessionTtlMs?: number;
  /**
   * Interval of server pings, announced in the welcome.
   * @default 25_000
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * Silence after which a connection is closed with 4001 and the device is offline.
   * @default 60_000
   */
  readonly heartbeatTimeoutMs?: number;
  /**
   * Sustained messages per second one connection may send (4003 beyond the burst).
   * @default 100
   */
  readonly messagesPerSecond?: number;
  /**
   * Messages one connection may send at once after a quiet period.
   * @default 200
   */
  readonly messageBurst?: number;
  /**
   * How long `gateway.request` waits for a device's reply.
   * @default 10_000
   */
  readonly requestTimeoutMs?: number;
  /**
   * How often connected devices' unacked commands are checked for redelivery.
   * @default 10_000
   */
  readonly redeliveryIntervalMs?: number;
  /**
   * Least time between two sweeps that mark commands past their TTL `expired` and delete expired sessions.
   * @default 60_000
   */
  readonly expirySweepIntervalMs?: number;
  /**
   * This instance's name in `devices.connected_instance` and session notices.
   * @default a random id per gateway
   */
  readonly instanceId?: string;
}

/** {@link RealtimeGatewayOptions} with every default applied. */
export type ResolvedGatewayOptions = Required<Omit<RealtimeGatewayOptions, 'standing'>>;

/**
 * Applies the defaults of {@link RealtimeGatewayOptions}.
 *
 * @param options - the caller's options.
 * @param instanceId - used when the caller named no instance.
 * @returns every option with a value.
 */
export function resolveGatewayOptions(
  options: RealtimeGatewayOptions,
  instanceId: string,
): ResolvedGatewayOptions {
  return {
    maxPayloadBytes: options.maxPayloadBytes ?? 1_048_576,
    maxBufferedBytes: options.maxBufferedBytes ?? 1_048_576,
    helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
    maxPendingHandshakes: options.maxPendingHandshakes ?? 1_000,
    maxPendingHandshakesPerSource: options.maxPendingHandshakesPerSource ?? 64,
    sourceOf: options.sourceOf ?? remoteAddressSource,
    maxSkewMs: options.maxSkewMs ?? 60_000,
    sessionTtlMs: options.sessionTtlMs ?? 86_400_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 25_000,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000,
    messagesPerSecond: options.messagesPerSecond ?? 100,
    messageBurst: options.messageBurst ?? 200,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    redeliveryIntervalMs: options.redeliveryIntervalMs ?? 10_000,
    expirySweepIntervalMs: options.expirySweepIntervalMs ?? 60_000,
    instanceId: options.instanceId ?? instanceId,
  };
}
