// Issue 11 point 11 from outside: hostile peers that never answer a close frame make the server
// close for a hello timeout, an oversized frame, a protocol violation, a rate limit and invalid
// frames (U+0000 in a hello among them); /metrics counts the codes the server sent, labelled
// `initiator="server"`, where it used to count 1006 for all of them. A polite client's own
// close is counted as the client's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { captureLogger } from '../support/capture-logger.js';
import { clientFrame, rawUpgrade } from '../support/raw-ws.js';
import { makeTempDir } from '../support/temp-dir.js';

const TEXT = 1;
const SIG = 'A'.repeat(86);
const NONCE = 'A'.repeat(22);

describe('realtime close metrics', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let server: RunningServer;
  const log = captureLogger();

  beforeAll(async () => {
    dir = await makeTempDir();
    server = await startServer({
      port: 0,
      dataDir: dir.path,
      logger: log.logger,
      realtime: { helloTimeoutMs: 300, maxPayloadBytes: 4_096, messageBurst: 1 },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await dir?.remove();
  });

  const scrape = async () => (await fetch(`${server.url}/metrics`)).text();
  const closedCount = async (code: number, initiator: 'server' | 'client') => {
    const line = (await scrape())
      .split('\n')
      .find((candidate) =>
        candidate.startsWith(
          `fieldline_realtime_closed_total{code="${code}",initiator="${initiator}"} `,
        ),
      );
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };

  it('counts the code the server sent to peers that never answer its close', async () => {
    const hello = (deviceId: string) =>
      JSON.stringify({ kind: 'hello', deviceId, ts: Date.now(), nonce: NONCE, sig: SIG });
    const cases: Array<{ name: string; bytes: Buffer | undefined; code: number }> = [
      { name: 'silent', bytes: undefined, code: 4408 },
      { name: 'oversized', bytes: clientFrame(TEXT, 'x'.repeat(5_000)), code: 1009 },
      { name: 'unmasked', bytes: clientFrame(TEXT, 'hello', false), code: 1002 },
      { name: 'not json', bytes: clientFrame(TEXT, 'not json'), code: 4400 },
      // U+0000 cannot reach the database: the documented 4400, not 1011 and a stack trace.
      { name: 'U+0000', bytes: clientFrame(TEXT, hello('dev\u0000x')), code: 4400 },
      {
        // A hello (its device looked up in the background), then a frame beyond the burst of 1.
        name: 'flood',
        bytes: Buffer.concat([
          clientFrame(TEXT, hello('dev_nobody')),
          clientFrame(TEXT, JSON.stringify({ kind: 'heartbeat', ts: 1 })),
        ]),
        code: 4003,
      },
    ];
    const peers = await Promise.all(
      cases.map(async ({ bytes }) => {
        const peer = await rawUpgrade(server.url);
        expect(peer.status).toBe(101);
        if (bytes !== undefined) peer.write(bytes);
        return peer;
      }),
    );
    await Promise.all(peers.map((peer) => peer.ended));
    cases.forEach(({ name, code }, index) => {
      expect(peers[index]?.closeCode(), name).toBe(code);
    });
    expect(await closedCount(4408, 'server')).toBe(1);
    expect(await closedCount(1009, 'server')).toBe(1);
    expect(await closedCount(1002, 'server')).toBe(1);
    expect(await closedCount(4400, 'server')).toBe(2);
    expect(await closedCount(4003, 'server')).toBe(1);
    expect(await closedCount(1006, 'client')).toBe(0);
    // Hostile input is not an internal error: nothing logged as one, no stack traces.
    const errors = log.records().filter((record) => Number(record.level) >= 50);
    expect(errors).toEqual([]);
  });

  it("counts a client's own close as the client's", async () => {
    const before = await closedCount(1000, 'client');
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
    await new Promise<void>((resolve) => socket.once('message', () => resolve()));
    socket.close(1000);
    await expect.poll(() => closedCount(1000, 'client')).toBe(before + 1);
  });
});
