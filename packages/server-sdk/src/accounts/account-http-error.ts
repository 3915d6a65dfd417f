import { HttpError } from '../http/http-error.js';
import { isAccountError } from './account-error.js';

/**
 * Answers an {@link AccountError} as the API documents it: `email_taken` and `last_owner` as
 * 409 `conflict`, `no_such_user` as 404, a password out of bounds as 400 `invalid_request`
 * (with `details.reason`); anything else is rethrown.
 *
 * @param error - what a store function threw.
 * @returns never; throws the HttpError.
 * @internal
 */
export function throwAccountHttpError(error: unknown): never {
  if (!isAccountError(error)) throw error;
  switch (error.code) {
    case 'email_taken':
    case 'last_owner':
      throw new HttpError('conflict', error.message, { details: { reason: error.code } });
    case 'no_such_user':
      throw new HttpError('not_found', error.message);
    case 'password_too_short':
    case 'password_too_long':
      throw new HttpError('invalid_request', error.message, {
        details: { reason: error.code, ...error.details },
      });
    case 'invalid_password_hash':
      throw error;
  }
}
