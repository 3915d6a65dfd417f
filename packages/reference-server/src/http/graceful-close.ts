import type { Server, ServerResponse } from 'node:http';

/** How a graceful close ended. */
export interface GracefulCloseResult {
  /** True when the timeout passed and open connections were cut. */
  readonly forced: boolean;
}

/** Closes a node:http server without cutting requests that are being answered. */
export interface GracefulCloser {
  /** Requests received and not yet answered. */
  inFlight(): number;
  /**
   * Stops accepting connections, closes idle keep-alive connections, lets
   * in-flight requests finish (their responses carry `connection: close`),
   * and after `timeoutMs` cuts whatever is still open.
   *
   * @param timeoutMs - how long in-flight requests get.
   * @returns whether the close had to be forced.
   */
  close(timeoutMs: number): Promise<GracefulCloseResult>;
}

/**
 * Tracks a server's in-flight requests so it can be closed gracefully. Call it
 * right after `createServer`, before any request arrives.
 *
 * @param server - the server.
 * @returns the closer.
 * @example
 * ```ts
 * const closer = trackInFlightRequests(server);
 * process.once('SIGTERM', () => void closer.close(10_000).then(() => process.exit(0)));
 * ```
 */
export function trackInFlightRequests(server: Server): GracefulCloser {
  const active = new Set<ServerResponse>();
  let closing: Promise<GracefulCloseResult> | undefined;
  server.on('request', (_request, response: ServerResponse) => {
    active.add(response);
    // A request that arrives on a kept-alive connection during shutdown is answered, then its
    // connection is closed, so the server's close is not held up until keep-alive times out.
    if (closing !== undefined) response.setHeader('connection', 'close');
    response.once('close', () => active.delete(response));
  });
  return {
    inFlight: () => active.size,
    close(timeoutMs) {
      closing ??= new Promise<GracefulCloseResult>((resolve) => {
        for (const response of active) {
          if (!response.headersSent) response.setHeader('connection', 'close');
        }
        let forced = false;
        const timer = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
        }, timeoutMs);
        server.close(() => {
          clearTimeout(timer);
          resolve({ forced });
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
