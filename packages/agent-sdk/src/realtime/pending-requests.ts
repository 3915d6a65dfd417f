import { RealtimeError } from './realtime-errors.js';

interface Pending {
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: RealtimeError) => void;
  readonly timer: NodeJS.Timeout;
}

/** Requests sent on the socket and waiting for their reply, by message id. */
export interface PendingRequests {
  /**
   * Starts waiting for the reply to `id`.
   *
   * @param id - the request's message id (the reply's `replyTo`).
   * @param timeoutMs - how long to wait before failing with `request_timeout`.
   * @returns the reply's body.
   */
  wait(id: string, timeoutMs: number): Promise<unknown>;
  /** Whether `id` is still waited for (a late reply is then ignored). */
  has(id: string): boolean;
  /** Settles `id` with a reply body. */
  resolve(id: string, body: unknown): void;
  /** Fails `id`. */
  reject(id: string, error: RealtimeError): void;
  /** Fails every request (the connection closed). */
  rejectAll(error: () => RealtimeError): void;
}

/**
 * Creates the correlation table of `agent.request()`.
 *
 * @returns an empty table.
 * @example
 * ```ts
 * const pending = createPendingRequests();
 * const reply = pending.wait(id, 10_000); // then send the frame with this id
 * ```
 */
export function createPendingRequests(): PendingRequests {
  const pending = new Map<string, Pending>();
  const settle = (id: string): Pending | undefined => {
    const entry = pending.get(id);
    if (entry === undefined) return undefined;
    pending.delete(id);
    clearTimeout(entry.timer);
    return entry;
  };
  return {
    wait(id, timeoutMs) {
      return new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(
            new RealtimeError('request_timeout', `No reply within ${timeoutMs} ms.`, {
              details: { id, timeoutMs },
            }),
          );
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
      });
    },
    has: (id) => pending.has(id),
    resolve(id, body) {
      settle(id)?.resolve(body);
    },
    reject(id, error) {
      settle(id)?.reject(error);
    },
    rejectAll(error) {
      for (const id of [...pending.keys()]) settle(id)?.reject(error());
    },
  };
}
