import { z } from 'zod';

/**
 * Every error code the HTTP API can answer with, and the status it comes
 * with. Stable: clients may switch on them.
 */
export const HTTP_ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_event: 400,
  invalid_sealed_message: 400,
  unauthenticated: 401,
  invalid_token: 401,
  invalid_credentials: 401,
  session_expired: 401,
  install_token_invalid: 401,
  install_token_used: 401,
  install_token_expired: 401,
  install_token_revoked: 401,
  device_revoked: 401,
  bad_signature: 401,
  invalid_link: 401,
  link_expired: 401,
  link_used: 401,
  forbidden: 403,
  csrf_failed: 403,
  consent_required: 403,
  device_quarantined: 403,
  key_rotation_required: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  replayed: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  overloaded: 503,
  unavailable: 503,
} as const;

/** An error code of the HTTP API. */
export type HttpErrorCode = keyof typeof HTTP_ERROR_STATUS;

/**
 * The body of every error response: `{ error: { code, message, details? } }`.
 * Codes outside {@link HTTP_ERROR_STATUS} are accepted when parsing, so an
 * older client keeps working against a newer server.
 */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string().min(1).max(64),
    message: z.string().max(4096),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The body of an error response. */
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * Builds an error body.
 *
 * @param code - a stable code, usually an {@link HttpErrorCode}.
 * @param message - what went wrong and what to do about it.
 * @param details - structured context (never secrets or stack traces).
 * @example
 * ```ts
 * res.writeHead(HTTP_ERROR_STATUS.rate_limited, { 'retry-after': '2' });
 * res.end(JSON.stringify(errorBody('rate_limited', 'Slow down; retry in 2 s.')));
 * ```
 */
export function errorBody(
  code: HttpErrorCode | (string & {}),
  message: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return details === undefined
    ? { error: { code, message } }
    : { error: { code, message, details } };
}
