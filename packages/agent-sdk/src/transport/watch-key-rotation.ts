import type { Transport } from './http-transport.js';

/**
 * Wraps a transport so that any answer `403 key_rotation_required` (docs/protocol.md §6.3)
 * calls `onRotationRequired`, whichever request it came from. The answer itself is passed on
 * unchanged.
 *
 * @param transport - the transport to wrap.
 * @param onRotationRequired - called (without waiting) per such answer; must not throw.
 * @returns a transport with the same behaviour.
 * @example
 * ```ts
 * const transport = watchKeyRotation(createHttpTransport(), () => agent.rotateKeys());
 * ```
 */
export function watchKeyRotation(transport: Transport, onRotationRequired: () => void): Transport {
  return {
    async request(request) {
      const response = await transport.request(request);
      if (response.status === 403) {
        const body = response.body as { error?: { code?: unknown } } | undefined;
        if (body?.error?.code === 'key_rotation_required') onRotationRequired();
      }
      return response;
    },
  };
}
