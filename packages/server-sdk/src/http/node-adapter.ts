import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BodyLimits,
  DEFAULT_MAX_BODY_BYTES,
  lazyDecodedBody,
  tooLarge,
} from './body-limits.js';
import { HttpError, isHttpError } from './http-error.js';
import { isFieldlineStream, runStream } from './stream-body.js';
import type {
  FieldlineHandler,
  FieldlineRequest,
  FieldlineResponse,
  FieldlineStream,
} from './types.js';

/** A node:http request listener. */
export type NodeRequestListener = (request: IncomingMessage, response: ServerResponse) => void;

function readLimited(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const announced = Number(request.headers['content-length'] ?? Number.NaN);
    if (announced > limit) {
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      total += chunk.byteLength;
      if (total > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!failed) resolve(new Uint8Array(Buffer.concat(chunks, total)));
    });
    request.on('error', (error) => {
      if (!failed) reject(error);
      failed = true;
    });
  });
}

/**
 * Reads the request target. Origin-form (`/path?query`) is put behind an origin rather than
 * resolved against one, so a path starting with `//` stays a path instead of naming a host;
 * absolute-form (`http://host/path`) is read as it is; anything else (`*`) is no path.
 */
function requestTarget(raw: string): URL | undefined {
  try {
    return new URL(raw.startsWith('/') ? `http://localhost${raw}` : raw);
  } catch {
    return undefined;
  }
}

function writeStream(
  response: ServerResponse,
  result: FieldlineResponse,
  stream: FieldlineStream,
): void {
  response.writeHead(result.status, { ...result.headers });
  // Headers go out now, not with the first chunk: an event stream may stay quiet for a while.
  response.flushHeaders();
  const running = runStream(stream, {
    write: (chunk) => response.write(chunk),
    end: () => response.end(),
    abort: () => response.destroy(),
    bufferedBytes: () => response.writableLength,
  });
  // `close` fires once the response is done for any reason, including the client going away.
  response.once('close', running.finish);
}

function write(response: ServerResponse, result: FieldlineResponse, closeAfter: boolean): void {
  if (isFieldlineStream(result.body)) {
    writeStream(response, result, result.body);
    return;
  }
  const headers: Record<string, string> = { ...result.headers };
  let payload: string | undefined;
  if (typeof result.body === 'string') payload = result.body;
  else if (result.body !== undefined) {
    payload = JSON.stringify(result.body);
    headers['content-type'] ??= 'application/json';
  }
  // A known length keeps the connection reusable, and is what HEAD answers with too.
  if (payload !== undefined) headers['content-length'] ??= String(Buffer.byteLength(payload));
  if (closeAfter) headers.connection = 'close';
  response.writeHead(result.status, headers);
  response.end(payload);
}

// A handler other than the router may let the body's decoding error escape: it is still a
// client error with its documented answer.
async function answer(
  handler: FieldlineHandler,
  request: FieldlineRequest,
): Promise<FieldlineResponse> {
  try {
    return await handler.handle(request);
  } catch (error) {
    if (!isHttpError(error)) throw error;
    return { status: error.status, body: error.toBody(), headers: { ...error.headers } };
  }
}

/**
 * Mounts a Fieldline handler on node:http (or anything that passes
 * node-style request/response objects, such as Express or Fastify's raw
 * mode). Bodies are size-limited before they are buffered, and gzip bodies
 * are decompressed with a cap when a route first reads them (after its
 * credential check). A {@link FieldlineStream} body is written chunk by
 * chunk; its cleanup runs when the client disconnects.
 *
 * @param handler - the API (e.g. `createFieldlineApp(...)`).
 * @param limits - body size limits.
 * @returns a request listener for `http.createServer`.
 * @example
 * ```ts
 * http.createServer(toNodeListener(app)).listen(8080);
 * ```
 */
export function toNodeListener(
  handler: FieldlineHandler,
  limits: BodyLimits = {},
): NodeRequestListener {
  const maxBodyBytes = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return (request, response) => {
    void (async () => {
      let body: () => Uint8Array;
      try {
        const encoding = request.headers['content-encoding'];
        body = lazyDecodedBody(await readLimited(request, maxBodyBytes), encoding, limits);
      } catch (error) {
        if (isHttpError(error)) {
          // The rest of an oversized body is not read, so the connection cannot be reused.
          write(
            response,
            { status: error.status, body: error.toBody(), headers: { ...error.headers } },
            true,
          );
        } else {
          response.destroy();
        }
        return;
      }
      const url = requestTarget(request.url ?? '/');
      if (url === undefined) {
        const error = new HttpError('invalid_request', 'The request target is not a path.');
        write(response, { status: error.status, body: error.toBody() }, false);
        return;
      }
      const fieldlineRequest: FieldlineRequest = {
        method: (request.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        query: url.searchParams,
        header: (name) => {
          const value = request.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        // A TLSSocket says so; a plain socket has no `encrypted` at all.
        secure: (request.socket as { encrypted?: boolean }).encrypted === true,
        get body() {
          return body();
        },
        ...(request.socket.remoteAddress === undefined
          ? {}
          : { remoteAddress: request.socket.remoteAddress }),
      };
      write(response, await answer(handler, fieldlineRequest), false);
    })().catch(() => {
      if (!response.headersSent) response.destroy();
    });
  };
}
