// The end of the wire for bench runs that measure the agent, not the server: it opens each
// sealed batch with the server's key (so its answer is computed from the batch, not made up)
// and answers what the reference server would for a batch it accepts whole. Nothing is
// stored. Used in process as a Transport, and over node:http as the peers' sink is.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { statePaths } from '@fieldline/agent-sdk';
import {
  createMemoryReplayGuard,
  decodeSealedBody,
  importIdentity,
  openMessage,
} from '@fieldline/core';

/**
 * Reads what a sink needs from a server data dir and an enrolled agent's state dir: the
 * server identity that opens frames, the device key that signed them, and the consent the
 * agent holds (echoed back, so an answer changes nothing).
 */
export function sinkParties({ serverIdentityPath, stateDir }) {
  const server = importIdentity(JSON.parse(readFileSync(serverIdentityPath, 'utf8')));
  const device = importIdentity(JSON.parse(readFileSync(statePaths(stateDir).identity, 'utf8')));
  if (!server.ok || !device.ok) throw new Error('cannot read identities');
  return {
    serverIdentity: server.value,
    deviceSigningKey: device.value.signingPublicKey,
    consent: JSON.parse(readFileSync(statePaths(stateDir).consent, 'utf8')).consent,
  };
}

/** Answers one `POST /v1/events` body: `{ status, body }`, counting events in `stats`. */
export function createBatchAnswerer({ serverIdentity, deviceSigningKey, consent }) {
  const clock = { now: () => Date.now() };
  const replayGuard = createMemoryReplayGuard({ clock, maxEntries: 1_000_000 });
  const decoder = new TextDecoder();
  const stats = { requests: 0, events: 0, lastAt: 0 };
  async function answer(bodyText) {
    stats.requests++;
    const frame = decodeSealedBody(JSON.parse(bodyText));
    if (!frame.ok) throw new Error(frame.error.message);
    const opened = await openMessage(frame.value, {
      recipient: serverIdentity,
      senderSigningPublicKey: deviceSigningKey,
      clock,
      replayGuard,
    });
    if (!opened.ok) throw new Error(opened.error.code);
    const batch = JSON.parse(decoder.decode(opened.value.plaintext));
    // The agent's own heartbeat events are not the workload's, as on the server side.
    stats.events += batch.events.filter((e) => e.type !== 'device.heartbeat').length;
    stats.lastAt = Date.now();
    return {
      status: 200,
      body: {
        batchId: batch.batchId,
        results: batch.events.map((e) => ({ id: e.id, status: 'accepted' })),
        accepted: batch.events.length,
        duplicates: 0,
        rejected: 0,
        consent,
        commands: [],
      },
    };
  }
  return { answer, stats };
}

/** The answerer behind node:http on 127.0.0.1: `POST /v1/events` only. */
export async function startFieldlineSink(parties) {
  const answerer = createBatchAnswerer(parties);
  const trace = process.env.BENCH_AGENT_TRACE ? [] : undefined;
  const server = createServer((req, res) => {
    const chunks = [];
    const times = [Date.now()];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      times.push(Date.now());
      if (trace) res.on('finish', () => trace.push([...times, Date.now()]));
      const reply = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || !req.url.startsWith('/v1/events')) {
        reply(404, { error: { code: 'not_found', message: 'The sink takes events only.' } });
        return;
      }
      answerer
        .answer(Buffer.concat(chunks).toString('utf8'))
        .then((answer) => reply(answer.status, answer.body))
        .catch((error) => reply(400, { error: { code: 'bad_request', message: error.message } }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats: answerer.stats,
    close: () => {
      if (trace)
        for (const [start, body, done] of trace)
          console.error(
            `sink at clock ${start % 100_000}: body +${body - start} ms, answered +${done - body} ms`,
          );
      return new Promise((r) => server.close(r));
    },
  };
}
