import {
  type BodyLimits,
  DEFAULT_MAX_BODY_BYTES,
  lazyDecodedBody,
  tooLarge,
} from './body-limits.js';
import { isHttpError } from './http-error.js';
import { isFieldlineStream, runStream } from './stream-body.js';
import type {
  FieldlineHandler,
  FieldlineRequest,
  FieldlineResponse,
  FieldlineStream,
} from './types.js';

/** A fetch-style handler, as Hono, Bun, Deno and most edge runtimes mount. */
export type FetchHandler = (request: Request) => Promise<Response>;

async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const announced = Number(request.headers.get('content-length') ?? Number.NaN);
  if (announced > limit) throw tooLarge(limit);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** How many bytes a streamed body queues before `write` reports back-pressure. */
const STREAM_HIGH_WATER_BYTES = 64 * 1024;

function streamBody(stream: FieldlineStream): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let running: { finish(): void } | undefined;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        running = runStream(stream, {
          write(chunk) {
            controller.enqueue(encoder.encode(chunk));
            return (controller.desiredSize ?? 0) > 0;
          },
          end: () => controller.close(),
          abort: () => controller.error(new Error('The stream was aborted by the server.')),
          bufferedBytes: () => STREAM_HIGH_WATER_BYTES - (controller.desiredSize ?? 0),
        });
      },
      // The client went away (or the runtime dropped the response): run the cleanup.
      cancel() {
        running?.finish();
      },
    },
    { highWaterMark: STREAM_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
}

/** Writes a {@link FieldlineResponse} as a fetch `Response`. @internal */
export function toFetchResponse(response: FieldlineResponse): Response {
  const headers = new Headers(response.headers);
  if (isFieldlineStream(response.body)) {
    return new Response(streamBody(response.body), { status: response.status, headers });
  }
  if (response.body === undefined) return new Response(null, { status: response.status, headers });
  if (typeof response.body === 'string')
    return new Response(response.body, { status: response.status, headers });
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(response.body), { status: response.status, headers });
}

/**
 * Mounts a Fieldline handler in anything that speaks fetch's
 * `(Request) => Promise<Response>`: Hono (`app.all('/v1/*', (c) => handler(c.req.raw))`),
 * Fastify or Express through their fetch bridges, Bun, Deno. A
 * {@link FieldlineStream} body becomes a `ReadableStream`; cancelling it runs the
 * stream's cleanup.
 *
 * @param handler - the API (e.g. `createFieldlineApp(...)`).
 * @param limits - body size limits.
 * @returns the fetch handler; it never rejects.
 * @example
 * ```ts
 * const handle = toFetchHandler(app);
 * const response = await handle(new Request('http://x/healthz'));
 * ```
 */
export function toFetchHandler(handler: FieldlineHandler, limits: BodyLimits = {}): FetchHandler {
  const maxBodyBytes = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (request) => {
    const url = new URL(request.url);
    let body: () => Uint8Array;
    try {
      body = lazyDecodedBody(
        await readLimited(request, maxBodyBytes),
        request.headers.get('content-encoding') ?? undefined,
        limits,
      );
    } catch (error) {
      if (isHttpError(error)) {
        return toFetchResponse({
          status: error.status,
          body: error.toBody(),
          headers: { ...error.headers },
        });
      }
      throw error;
    }
    const fieldlineRequest: FieldlineRequest = {
      method: request.method.toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      header: (name) => request.headers.get(name) ?? undefined,
      secure: url.protocol === 'https:',
      get body() {
        return body();
      },
    };
    let response: FieldlineResponse;
    try {
      response = await handler.handle(fieldlineRequest);
    } catch (error) {
      // A handler other than the router may let the body's decoding error escape.
      if (!isHttpError(error)) throw error;
      response = { status: error.status, body: error.toBody(), headers: { ...error.headers } };
    }
    // Not every runtime drops a HEAD response's body (node:http does), and a stream must not start.
    if (fieldlineRequest.method === 'HEAD') {
      const { body: _body, ...headersOnly } = response;
      return toFetchResponse(headersOnly);
    }
    return toFetchResponse(response);
  };
}
