import type { Transport } from './http-transport.js';

/** What {@link watchKeyRotation} reports. */
export interface KeyRotationSignals {
  /** An answer said `403 key_rotation_required`: the device must rotate its keys. */
  readonly onRotationRequired: () => void;
  /** The server key the agent pinned, to compare with the `fieldline-server-key` header. */
  readonly pinnedServerSigningKey: () => string | undefined;
  /** An answer named a server signing key other than the pinned one (a server rotation). */
  readonly onServerKeyChanged: (announced: string) => void;
}

/**
 * Wraps a transport to notice key rotations from any answer (docs/protocol.md §5): `403
 * key_rotation_required` calls `onRotationRequired`; a `fieldline-server-key` header that is
 * not the pinned server key calls `onServerKeyChanged`. Answers pass on unchanged; the
 * callbacks are called without waiting and must not throw.
 *
 * @param transport - the transport to wrap.
 * @param signals - the callbacks and the pinned key.
 * @returns a transport with the same behaviour.
 * @example
 * ```ts
 * const transport = watchKeyRotation(createHttpTransport(), {
 *   onRotationRequired: () => void agent.rotateKeys(),
 *   pinnedServerSigningKey: () => enrollment?.serverPublicKeys.signingPublicKey,
 *   onServerKeyChanged: () => void followServerKeys(),
 * });
 * ```
 */
export function watchKeyRotation(transport: Transport, signals: KeyRotationSignals): Transport {
  return {
    async request(request) {
      const response = await transport.request(request);
      if (response.status === 403) {
        const body = response.body as { error?: { code?: unknown } } | undefined;
        if (body?.error?.code === 'key_rotation_required') signals.onRotationRequired();
      }
      const announced = response.header('fieldline-server-key');
      const pinned = signals.pinnedServerSigningKey();
      if (announced !== undefined && pinned !== undefined && announced !== pinned) {
        signals.onServerKeyChanged(announced);
      }
      return response;
    },
  };
}
