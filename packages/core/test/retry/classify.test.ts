import { describe, expect, it } from 'vitest';
import { classifyError, classifyHttpStatus } from '../../src/retry/classify.js';

function withCode(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function abortedSignal(): AbortSignal {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
}

describe('classifyHttpStatus', () => {
  it.each([200, 201, 202, 204, 299])('%d is success', (status) => {
    expect(classifyHttpStatus(status)).toBe('success');
  });

  it.each([408, 425, 429, 500, 502, 503, 504, 507, 511, 599])('%d is retryable', (status) => {
    expect(classifyHttpStatus(status)).toBe('retryable');
  });

  it('401 asks for re-authentication', () => {
    expect(classifyHttpStatus(401)).toBe('reauthenticate');
  });

  it.each([400, 402, 403, 404, 409, 413, 422, 451, 499])('%d is fatal', (status) => {
    expect(classifyHttpStatus(status)).toBe('fatal');
  });

  it.each([501, 505, 506, 508, 510])('%d (a fixed server property) is fatal', (status) => {
    expect(classifyHttpStatus(status)).toBe('fatal');
  });

  it.each([100, 199, 301, 304, 0, -1, 600, 1000, 200.5, Number.NaN])(
    '%d (not a final answer) is fatal',
    (status) => {
      expect(classifyHttpStatus(status)).toBe('fatal');
    },
  );
});

describe('classifyError', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'ETIMEDOUT',
    'EPIPE',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ERR_STREAM_PREMATURE_CLOSE',
  ])('a %s system error is retryable', (code) => {
    expect(classifyError(withCode(code))).toBe('retryable');
  });

  it.each([
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_SOCKET',
    'UND_ERR_CLOSED',
    'UND_ERR_SOME_FUTURE_CODE',
  ])('undici %s is retryable', (code) => {
    expect(classifyError(withCode(code))).toBe('retryable');
  });

  it.each(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_RES_EXCEEDED_MAX_SIZE'])(
    'undici %s (a programmer or configuration error) is fatal',
    (code) => {
      expect(classifyError(withCode(code))).toBe('fatal');
      expect(classifyError(fetchFailed(withCode(code)))).toBe('fatal');
    },
  );

  it("finds the code behind fetch's TypeError: fetch failed", () => {
    expect(classifyError(fetchFailed(withCode('ECONNREFUSED')))).toBe('retryable');
    expect(classifyError(fetchFailed(withCode('UND_ERR_SOCKET')))).toBe('retryable');
  });

  it('looks inside an AggregateError (a failed multi-address connect)', () => {
    const aggregate = new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]);
    expect(classifyError(fetchFailed(aggregate))).toBe('retryable');
    expect(classifyError(new AggregateError([new Error('x'), withCode('EHOSTUNREACH')]))).toBe(
      'retryable',
    );
  });

  it('takes fetch failed with an unknown cause for a network failure', () => {
    expect(classifyError(fetchFailed(new Error('other side closed')))).toBe('retryable');
  });

  it('does not retry fetch failed without a cause, nor TLS trust failures', () => {
    expect(classifyError(new TypeError('fetch failed'))).toBe('fatal');
    expect(classifyError(fetchFailed(withCode('CERT_HAS_EXPIRED')))).toBe('fatal');
    expect(classifyError(fetchFailed(withCode('ERR_TLS_CERT_ALTNAME_INVALID')))).toBe('fatal');
    // agent-sdk's SPKI pin check: the same path presents the same key on the next try.
    expect(classifyError(fetchFailed(withCode('tls_pin_mismatch')))).toBe('fatal');
  });

  it('retries a per-request timeout but not the caller abort', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(classifyError(timeout)).toBe('retryable');
    expect(classifyError(abort)).toBe('retryable');
    expect(classifyError(abort, { signal: new AbortController().signal })).toBe('retryable');
    expect(classifyError(abort, { signal: abortedSignal() })).toBe('aborted');
    // Whatever the error looks like, the caller's abort wins.
    expect(classifyError(withCode('ECONNRESET'), { signal: abortedSignal() })).toBe('aborted');
  });

  it('reads node-fetch (cross-fetch) timeouts and system errors', () => {
    const fetchError = (type: string, code?: string) =>
      Object.assign(new Error('request failed'), { name: 'FetchError', type, code });
    expect(classifyError(fetchError('request-timeout'))).toBe('retryable');
    expect(classifyError(fetchError('body-timeout'))).toBe('retryable');
    expect(classifyError(fetchError('system', 'ECONNRESET'))).toBe('retryable');
    expect(classifyError(fetchError('invalid-json'))).toBe('fatal');
  });

  it.each([
    new Error('boom'),
    new TypeError('Cannot read properties of undefined'),
    new SyntaxError('Unexpected token'),
    withCode('ENOENT'),
    'a string',
    42,
    null,
    undefined,
    { code: 42 },
  ])('anything else is fatal (%s)', (error) => {
    expect(classifyError(error)).toBe('fatal');
  });

  it('terminates on a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(classifyError(a)).toBe('fatal');
  });

  it('stops at a bounded cause depth', () => {
    let error: Error = withCode('ECONNRESET');
    for (let i = 0; i < 20; i++) error = new Error(`wrap ${i}`, { cause: error });
    expect(classifyError(error)).toBe('fatal');
  });
});
