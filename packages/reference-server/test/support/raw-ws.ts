// A hand-rolled WebSocket client over a plain TCP socket, for playing a hostile peer: it writes
// whatever frames it is told (unmasked, oversized, several in one write), never answers a close
// frame, and reports the upgrade's status and the close code the server sent.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawWebSocket {
  readonly socket: Socket;
  /** The upgrade answer's status code (101 when upgraded). */
  readonly status: number;
  /** The upgrade answer's head (status line and headers). */
  readonly head: string;
  /** Text messages the server sent, in order. */
  readonly texts: string[];
  /** The code of the server's close frame, once one arrived. */
  closeCode(): number | undefined;
  /** Resolves when the TCP connection ends (the server's doing: this peer never closes). */
  readonly ended: Promise<void>;
  /** Writes raw bytes. */
  write(bytes: Buffer): void;
}

/**
 * One client frame: FIN set, the given opcode, masked unless told otherwise.
 *
 * @param opcode - 1 text, 2 binary, 8 close…
 * @param payload - the payload.
 * @param mask - clients must mask; false makes a protocol violation.
 */
export function clientFrame(opcode: number, payload: Buffer | string, mask = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = data.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | length])
      : length < 65_536
        ? Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | 126, length >> 8, length & 0xff])
        : (() => {
            const big = Buffer.alloc(10);
            big[0] = 0x80 | opcode;
            big[1] = (mask ? 0x80 : 0) | 127;
            big.writeBigUInt64BE(BigInt(length), 2);
            return big;
          })();
  if (!mask) return Buffer.concat([header, data]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(length);
  for (let index = 0; index < length; index++) {
    masked[index] = (data[index] ?? 0) ^ (key[index % 4] ?? 0);
  }
  return Buffer.concat([header, key, masked]);
}

/** Opens a TCP connection, asks for the upgrade to `/v1/ws`, and reads the answer. */
export function rawUpgrade(
  baseUrl: string,
  options: { readonly localAddress?: string; readonly headers?: Record<string, string> } = {},
): Promise<RawWebSocket> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    let buffer = Buffer.alloc(0);
    let upgraded: { status: number; head: string } | undefined;
    const texts: string[] = [];
    let closeCode: number | undefined;
    const ended = new Promise<void>((resolveEnd) => socket.once('close', () => resolveEnd()));
    socket.on('error', (error) => {
      if (upgraded === undefined) reject(error);
    });
    // Server frames are unmasked; only text and close matter here.
    const readFrames = () => {
      while (buffer.length >= 2) {
        const opcode = (buffer[0] ?? 0) & 0x0f;
        let length = (buffer[1] ?? 0) & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        const payload = buffer.subarray(offset, offset + length);
        if (opcode === 1) texts.push(payload.toString());
        if (opcode === 8 && payload.length >= 2) closeCode = payload.readUInt16BE(0);
        buffer = buffer.subarray(offset + length);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (upgraded === undefined) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 4);
        upgraded = { status: Number(head.split(' ')[1]), head };
        resolve({
          socket,
          status: upgraded.status,
          head,
          texts,
          closeCode: () => closeCode,
          ended,
          write: (bytes) => socket.write(bytes),
        });
      }
      readFrames();
    });
    socket.once('connect', () => {
      const extra = Object.entries(options.headers ?? {})
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.write(
        `GET /v1/ws HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          `${extra}\r\n`,
      );
    });
  });
}
