import type { z } from 'zod';
import { ApiError } from './api-error.js';
import { errorBodySchema } from './schemas.js';

/** One call to the API, answered with JSON of a known shape. */
export interface JsonRequest<T> {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path, e.g. `/v1/auth/session`. */
  readonly path: string;
  /** JSON body of a POST/PUT. */
  readonly body?: unknown;
  /** Extra headers (the CSRF header of a mutating call). */
  readonly headers?: Readonly<Record<string, string>>;
  /** What a successful answer must look like; undefined for a 204. */
  readonly schema?: z.ZodType<T>;
}

/**
 * Calls the API on this origin with the browser's cookies, and checks the answer's shape.
 *
 * @param request - method, path, body, headers and the answer's schema.
 * @returns the parsed answer (undefined without a schema).
 * @throws {@link ApiError} with the server's `code` for an error status, `network_error` when
 *   nothing answered, `invalid_response` when the answer is not the documented shape.
 */
export async function requestJson<T>(request: JsonRequest<T>): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(request.path, {
      method: request.method ?? 'GET',
      headers,
      credentials: 'same-origin',
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
  } catch {
    throw new ApiError('network_error', 'The server could not be reached. Try again.', 0);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const parsed = errorBodySchema.safeParse(json);
    if (parsed.success) {
      throw new ApiError(parsed.data.error.code, parsed.data.error.message, response.status);
    }
    throw new ApiError('http_error', `The server answered ${response.status}.`, response.status);
  }
  if (request.schema === undefined) return undefined as T;
  const parsed = request.schema.safeParse(json);
  if (!parsed.success) {
    throw new ApiError(
      'invalid_response',
      `Unexpected answer from ${request.path}.`,
      response.status,
    );
  }
  return parsed.data;
}
