import type { Duplex } from 'node:stream';
import { errorBody, type HttpErrorCode } from '@fieldline/core';

/** The part of a Node `http.Server`/`https.Server` that {@link answerClientErrors} uses. */
export interface ClientErrorSource {
  on(
    event: 'clientError',
    listener: (error: Error & { code?: string }, socket: Duplex) => void,
  ): unknown;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

function classify(code: string | undefined): {
  status: 400 | 408 | 431;
  code: HttpErrorCode;
  message: string;
} {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      code: 'headers_too_large',
      message:
        'The request headers are larger than the server accepts (16 KiB); send fewer or shorter headers.',
    };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      code: 'request_timeout',
      message: 'The request did not arrive in time; send it again on a new connection.',
    };
  }
  return {
    status: 400,
    code: 'invalid_request',
    message:
      'The request is not valid HTTP/1.1 (method, target, header or framing); fix the request.',
  };
}

/**
 * Answers requests that Node's HTTP parser refuses before any route sees them (an unknown
 * method, oversized headers, broken framing, a request that never finished) with the
 * documented JSON error instead of Node's bare text answer, then closes the connection.
 *
 * @param server - the Node HTTP or HTTPS server.
 * @example
 * ```ts
 * const server = createServer(toNodeListener(app));
 * answerClientErrors(server);
 * ```
 */
export function answerClientErrors(server: ClientErrorSource): void {
  server.on('clientError', (error, socket) => {
    // A reset peer, or one whose socket is gone, has nobody left to read an answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, code, message } = classify(error.code);
    const body = JSON.stringify(errorBody(code, message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  });
}
