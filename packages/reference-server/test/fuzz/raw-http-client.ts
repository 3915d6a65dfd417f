// Sends generated requests as they are (any method with any body, any header value Node lets
// through) over a keep-alive pool of real sockets.
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import type { FuzzRequest } from './http-request-arbitrary.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A keep-alive client of one server. */
export interface RawHttpClient {
  send(fuzz: FuzzRequest): Promise<RawResponse>;
  close(): void;
}

/**
 * A client keeping up to `sockets` connections open to `baseUrl`.
 *
 * @param timeoutMs - a request with no answer by then fails (a hang is a finding too).
 */
export function createRawHttpClient(
  baseUrl: string,
  sockets: number,
  timeoutMs = 30_000,
): RawHttpClient {
  const { hostname, port } = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  return {
    send(fuzz) {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { ...fuzz.headers };
        if (fuzz.body !== undefined) headers['content-length'] = String(fuzz.body.byteLength);
        const outgoing = request(
          { host: hostname, port, method: fuzz.method, path: fuzz.path, headers, agent },
          (incoming) => {
            // An event stream (GET /v1/admin/stream) never ends: its headers are the answer.
            if (String(incoming.headers['content-type']).startsWith('text/event-stream')) {
              clearTimeout(deadline);
              resolve({
                status: incoming.statusCode ?? 0,
                headers: incoming.headers,
                body: Buffer.alloc(0),
              });
              outgoing.destroy();
              return;
            }
            const chunks: Buffer[] = [];
            incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
            incoming.on('end', () => {
              clearTimeout(deadline);
              resolve({
                status: incoming.statusCode ?? 0,
                headers: incoming.headers,
                body: Buffer.concat(chunks),
              });
            });
            incoming.on('error', reject);
          },
        );
        // A whole-request deadline, not an idle timeout: a trickling answer is a hang too.
        const deadline = setTimeout(
          () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        outgoing.on('error', (error) => {
          clearTimeout(deadline);
          reject(error);
        });
        outgoing.end(fuzz.body);
      });
    },
    close: () => agent.destroy(),
  };
}
