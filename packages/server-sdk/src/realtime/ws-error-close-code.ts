// ws closes a socket itself when a frame breaks the protocol, and reports only an error whose
// `code` names the fault; the close code it sent follows from that name (ws 8's receiver).
const BY_ERROR_CODE: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
};

/**
 * The close code `ws` sent after reporting `error` on a server socket.
 *
 * @param error - what the socket's `error` event carried.
 * @returns 1009 (too large), 1007 (bad UTF-8), 1008, or 1002 (any other protocol error); undefined
 *   for an error that is not a protocol fault (then ws sent no close frame).
 * @example
 * ```ts
 * socket.on('error', (error) => connection.noteSentClose(wsErrorCloseCode(error)));
 * ```
 */
export function wsErrorCloseCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined;
  return BY_ERROR_CODE[code] ?? 1002;
}
