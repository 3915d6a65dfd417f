/**
 * Waits `delayMs` milliseconds. Must reject promptly (with the signal's reason) when `signal`
 * aborts, so a caller shutting down is never held by a pending back-off.
 *
 * @param delayMs - how long to wait; 0 or less resolves on the next macrotask at the latest.
 * @param signal - aborts the wait.
 */
export type Sleep = (delayMs: number, signal?: AbortSignal) => Promise<void>;

/**
 * The default {@link Sleep}, built on `setTimeout`. It is the only timer `@fieldline/core` ever
 * arms, and only when a caller does not pass its own `sleep`. The timer is not `unref`ed, on
 * purpose: a pending retry should keep a short-lived process (a CLI flushing before exit) alive.
 *
 * @param delayMs - how long to wait, in milliseconds.
 * @param signal - aborts the wait at once.
 * @returns a promise that resolves after the delay.
 * @throws rejects with `signal.reason` when `signal` is (or becomes) aborted.
 * @example
 * ```ts
 * await timerSleep(250, controller.signal);
 * ```
 */
export const timerSleep: Sleep = (delayMs, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, delayMs),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
