import { exceedsJsonDepth, MAX_JSON_DEPTH } from '@fieldline/core';
import type { z } from 'zod';
import { findUnstorableText } from '../db/storable-text.js';
import { HttpError } from './http-error.js';
import type { FieldlineRequest } from './types.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment) => (typeof segment === 'number' ? `[${segment}]` : String(segment)))
    .join('.');
}

/**
 * Reads a JSON body and validates it with a zod schema.
 *
 * @param request - the request.
 * @param schema - the body's schema (strict: unknown keys are refused).
 * @returns the parsed body.
 * @throws {@link HttpError} `unsupported_media_type` (not JSON), `invalid_json`, or
 * `invalid_request` with `details.issues` listing every failing path.
 */
export function readJsonBody<S extends z.ZodType>(
  request: FieldlineRequest,
  schema: S,
): z.output<S> {
  return validate(parseJson(request), schema);
}

/**
 * Parses untrusted JSON bytes (a request body, a frame) after refusing, with
 * one linear scan, nesting deeper than {@link MAX_JSON_DEPTH}: no structure
 * deep enough to exhaust the stack of a later walk is ever built.
 *
 * @param bytes - UTF-8 JSON.
 * @param hint - what the sender should have sent, appended to the messages.
 * @returns the parsed value (unknown).
 * @throws {@link HttpError} `invalid_json`; `details.reason` is `too_deep` (with `maxDepth`),
 *   `not_utf8` or `syntax`.
 */
export function parseJsonBytes(bytes: Uint8Array, hint = ''): unknown {
  if (exceedsJsonDepth(bytes)) {
    throw new HttpError(
      'invalid_json',
      `The JSON nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.${hint}`,
      { details: { reason: 'too_deep', maxDepth: MAX_JSON_DEPTH } },
    );
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new HttpError('invalid_json', `The body is not valid UTF-8.${hint}`, {
      details: { reason: 'not_utf8' },
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError('invalid_json', `The body is not valid JSON.${hint}`, {
      details: { reason: 'syntax' },
    });
  }
}

/**
 * Parses a request body as JSON, checking the content type and the nesting
 * depth (at most `MAX_JSON_DEPTH` levels, checked before parsing).
 *
 * @param request - the request.
 * @returns the parsed value (unknown).
 * @throws {@link HttpError} `unsupported_media_type` or `invalid_json`.
 */
export function parseJson(request: FieldlineRequest): unknown {
  requireJsonContentType(request);
  return parseJsonBytes(request.body);
}

/**
 * Validates untrusted input with a zod schema.
 *
 * @param value - the input.
 * @param schema - its schema.
 * @returns the parsed value.
 * @throws {@link HttpError} `invalid_request` with every failing path.
 */
export function validate<S extends z.ZodType>(value: unknown, schema: S): z.output<S> {
  const unstorable = findUnstorableText(value);
  if (unstorable !== undefined) {
    throw new HttpError(
      'invalid_request',
      `The request holds text that cannot be stored (U+0000 or an unpaired surrogate) at ${unstorable}.`,
      {
        details: {
          issues: [
            {
              path: unstorable,
              message: 'U+0000 and unpaired surrogates are not accepted',
              code: 'invalid_string',
            },
          ],
        },
      },
    );
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
    code: issue.code,
  }));
  const summary = issues
    .slice(0, 3)
    .map((issue) => `${issue.path || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new HttpError('invalid_request', `The request is invalid: ${summary}`, {
    details: { issues },
  });
}

/**
 * Requires a JSON content type (sealed device bodies are JSON too).
 *
 * @param request - the request.
 * @throws {@link HttpError} `unsupported_media_type`.
 */
export function requireJsonContentType(request: FieldlineRequest): void {
  const type = request.header('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new HttpError('unsupported_media_type', 'Send the body as application/json.');
  }
}

/**
 * A JSON response.
 *
 * @param status - the status.
 * @param body - any JSON value.
 * @param headers - extra headers.
 */
export function json(status: number, body: unknown, headers?: Record<string, string>) {
  return { status, body, headers: { 'content-type': 'application/json', ...headers } };
}
