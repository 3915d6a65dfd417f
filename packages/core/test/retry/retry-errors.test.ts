import { describe, expect, it } from 'vitest';
import { FieldlineError, InvalidArgumentError, isFieldlineError } from '../../src/errors.js';
import { isRetryError, RetryError } from '../../src/retry/retry-errors.js';

describe('RetryError', () => {
  it('is a FieldlineError with a retry code', () => {
    const cause = new Error('stop');
    const error = new RetryError('retry_aborted', 'aborted', { details: { attempts: 2 }, cause });
    expect(error).toBeInstanceOf(FieldlineError);
    expect(isFieldlineError(error)).toBe(true);
    expect(error.name).toBe('RetryError');
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({
      code: 'retry_aborted',
      message: 'aborted',
      details: { attempts: 2 },
    });
  });

  it('is told apart by isRetryError', () => {
    expect(isRetryError(new RetryError('retry_exhausted', 'x'))).toBe(true);
    expect(isRetryError(new InvalidArgumentError('x'))).toBe(false);
    expect(isRetryError(new Error('x'))).toBe(false);
    expect(isRetryError(undefined)).toBe(false);
  });
});
