import { FieldlineError, isFieldlineError } from '@fieldline/core';

/** Why an account operation was refused. */
export type AccountErrorCode =
  | 'password_too_short'
  | 'password_too_long'
  | 'invalid_password_hash'
  | 'email_taken'
  | 'last_owner'
  | 'no_such_user';

const CODES: ReadonlySet<string> = new Set<AccountErrorCode>([
  'password_too_short',
  'password_too_long',
  'invalid_password_hash',
  'email_taken',
  'last_owner',
  'no_such_user',
]);

/**
 * Thrown by the account functions (password hashing, the user store) for input that can never
 * work: a password shorter than `PASSWORD_MIN_LENGTH`, an e-mail already taken, a change that
 * would leave no owner. The HTTP routes answer these as documented 4xx errors.
 *
 * @example
 * ```ts
 * try { await hashPassword('short'); } catch (e) { if (isAccountError(e)) console.error(e.code); }
 * ```
 */
export class AccountError extends FieldlineError<AccountErrorCode> {
  constructor(
    code: AccountErrorCode,
    message: string,
    options?: { readonly details?: Record<string, unknown>; readonly cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'AccountError';
  }
}

/**
 * Narrows an unknown value to an {@link AccountError}.
 *
 * @param value - anything caught.
 * @returns true when `value` is an AccountError (from any copy of this package).
 */
export function isAccountError(value: unknown): value is AccountError {
  return isFieldlineError(value) && value.name === 'AccountError' && CODES.has(value.code);
}
