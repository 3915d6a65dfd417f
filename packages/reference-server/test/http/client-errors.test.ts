// Requests Node's HTTP parser refuses before any route sees them (found by the outside fuzz
// suite's method list): an unknown method or headers over 16 KiB got Node's bare text answer.
// They now get the documented JSON error with a code, and the server keeps serving.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBuilt, type SpawnedServer, spawnServer } from '../support/spawned-server.js';

/** Writes raw bytes to the server and reads everything until it closes the connection. */
function raw(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(text);
  });
}

function parse(answer: string): { status: number; headers: string; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(head.split(' ')[1]);
  return { status, headers: head.toLowerCase(), body: JSON.parse(body) };
}

describe.skipIf(!cliBuilt)("requests Node's parser refuses, against the built server", () => {
  let server: SpawnedServer;
  beforeAll(async () => {
    server = await spawnServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers an unknown method with 400 invalid_request as JSON', async () => {
    const answer = parse(await raw(server.url, 'FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.body).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('answers broken framing with 400 invalid_request as JSON', async () => {
    const answer = parse(
      await raw(server.url, 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('answers headers over 16 KiB with 431 headers_too_large as JSON, then still serves', async () => {
    const big = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`;
    const answer = parse(await raw(server.url, big));
    expect(answer.status).toBe(431);
    expect(answer.body).toMatchObject({ error: { code: 'headers_too_large' } });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
