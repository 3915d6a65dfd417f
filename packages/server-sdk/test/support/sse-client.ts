// Reads a server-sent event stream over a real socket (node:http), for tests.
import { request } from 'node:http';
import { expect } from 'vitest';

export interface SseConnection {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Everything received so far. */
  text(): string;
  /** The `event:`/`data:` blocks received so far, parsed. */
  events(): Array<{ event: string; data: unknown }>;
  /** Waits until the received text matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the response. */
  readonly ended: Promise<void>;
  /** Drops the connection, as a closed browser tab would. */
  close(): void;
}

export function openSse(
  url: string,
  token?: string,
  extraHeaders: Record<string, string> = {},
): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        headers: {
          ...extraHeaders,
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (response) => {
        let received = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          received += chunk;
        });
        const ended = new Promise<void>((resolveEnd) => {
          response.on('end', resolveEnd);
          response.on('close', resolveEnd);
        });
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: () => received,
          events: () =>
            received
              .split('\n\n')
              .map((block) => /^event: (.+)\ndata: (.+)$/.exec(block))
              .filter((match) => match !== null)
              .map((match) => ({ event: match[1] ?? '', data: JSON.parse(match[2] ?? '') })),
          waitFor: async (pattern, timeoutMs = 1000) => {
            await expect
              .poll(() => received, { timeout: timeoutMs, interval: 10 })
              .toMatch(pattern);
          },
          ended,
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
