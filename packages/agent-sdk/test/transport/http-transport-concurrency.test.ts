// Issue 11 point 7: the default transport (cross-fetch → node-fetch 2 behind a 4-socket
// keep-alive agent) failed 196 of 200 requests with "Premature close" at 5+ concurrent ones.
// Here 50 concurrent command acks and 50 concurrent config fetches go through the agent's
// transport to the built reference server in its own process, over HTTP with the default
// transport and over HTTPS with the pinned one: none may fail.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent.js';
import type { AgentTlsOptions } from '../../src/index.js';
import { postCommandAck } from '../../src/realtime/http-commands.js';
import { type EnrollmentFile, statePaths } from '../../src/state/state-files.js';
import { createHttpTransport } from '../../src/transport/http-transport.js';
import { makeTestCertificates } from './make-test-certificates.js';
import { SERVER_CLI, type SpawnedServer, spawnReferenceServer } from './spawn-reference-server.js';

const CONCURRENCY = 50;

describe.skipIf(!existsSync(SERVER_CLI))('the agent HTTP transport under concurrency', () => {
  const dirs: string[] = [];
  const servers: SpawnedServer[] = [];

  function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  }

  afterAll(async () => {
    for (const server of servers) await server.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function enroll(server: SpawnedServer, tls?: AgentTlsOptions): Promise<EnrollmentFile> {
    const stateDir = tempDir('fl-transport-state-');
    const agent = await createAgent({
      stateDir,
      realtime: { enabled: false },
      ...(tls === undefined ? {} : { tls }),
    });
    await agent.enroll({ serverUrl: server.url, installToken: await server.installToken() });
    await agent.shutdown();
    return JSON.parse(readFileSync(statePaths(stateDir).enrollment, 'utf8'));
  }

  async function acksAndConfigsAtOnce(server: SpawnedServer, tls?: AgentTlsOptions) {
    const enrollment = await enroll(server, tls);
    const created = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, index) =>
        server.admin(`/v1/admin/devices/${enrollment.deviceId}/commands`, {
          type: 'app.test',
          body: { index },
        }),
      ),
    );
    expect(created.map((answer) => answer.status)).toEqual(Array(CONCURRENCY).fill(201));
    const ids = created.map((answer) => answer.body.id as string);

    const transport = createHttpTransport(tls === undefined ? {} : { tls });
    const [acks, configs] = await Promise.all([
      Promise.all(ids.map((id) => postCommandAck(transport, enrollment, id, { status: 'acked' }))),
      Promise.all(
        Array.from({ length: CONCURRENCY }, () =>
          transport.request({
            method: 'GET',
            url: `${enrollment.serverUrl}/v1/config`,
            headers: { authorization: `Bearer ${enrollment.deviceToken}` },
          }),
        ),
      ),
    ]);
    expect(acks.filter((ack) => !ack.ok)).toEqual([]);
    expect(configs.map((response) => response.status)).toEqual(Array(CONCURRENCY).fill(200));

    // Every ack reached the server and was recorded, not just answered.
    const statuses = await Promise.all(
      ids.map(async (id) => (await server.admin(`/v1/admin/commands/${id}`)).body.status),
    );
    expect(statuses).toEqual(Array(CONCURRENCY).fill('acked'));
  }

  describe('over HTTP, the default transport', () => {
    let server: SpawnedServer;
    beforeAll(async () => {
      server = await spawnReferenceServer();
      servers.push(server);
    }, 60_000);

    it(`acks ${CONCURRENCY} commands and fetches config ${CONCURRENCY} times at once, 0 failures`, async () => {
      await acksAndConfigsAtOnce(server);
    }, 60_000);
  });

  describe('over HTTPS, the transport with SPKI pins', () => {
    let server: SpawnedServer;
    let tls: AgentTlsOptions;
    beforeAll(async () => {
      const certs = makeTestCertificates(tempDir('fl-transport-certs-'));
      tls = { pins: [certs.serverPin, certs.unusedPin], ca: certs.caPem };
      server = await spawnReferenceServer({
        args: ['--tls-cert', certs.certFile, '--tls-key', certs.keyFile],
        caPem: certs.caPem,
      });
      servers.push(server);
    }, 60_000);

    it(`acks ${CONCURRENCY} commands and fetches config ${CONCURRENCY} times at once, 0 failures`, async () => {
      await acksAndConfigsAtOnce(server, tls);
    }, 60_000);
  });
});
