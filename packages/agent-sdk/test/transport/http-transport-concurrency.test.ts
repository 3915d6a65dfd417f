// Issue 11 point 7: the default transport (cross-fetch → node-fetch 2 behind a 4-socket
// keep-alive agent) failed 196 of 200 requests with "Premature close" at 5+ concurrent ones.
// Here 50 concurrent command acks and 50 concurrent config fetches go through the default
// transport to the built reference server in its own process: none may fail.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent.js';
import { postCommandAck } from '../../src/realtime/http-commands.js';
import { type EnrollmentFile, statePaths } from '../../src/state/state-files.js';
import { createHttpTransport } from '../../src/transport/http-transport.js';
import { SERVER_CLI, type SpawnedServer, spawnReferenceServer } from './spawn-reference-server.js';

const CONCURRENCY = 50;

describe.skipIf(!existsSync(SERVER_CLI))('the default HTTP transport under concurrency', () => {
  let server: SpawnedServer;
  let stateDir: string;
  let enrollment: EnrollmentFile;

  beforeAll(async () => {
    server = await spawnReferenceServer();
    stateDir = mkdtempSync(join(tmpdir(), 'fl-transport-state-'));
    const agent = await createAgent({ stateDir, realtime: { enabled: false } });
    await agent.enroll({ serverUrl: server.url, installToken: await server.installToken() });
    await agent.shutdown();
    enrollment = JSON.parse(readFileSync(statePaths(stateDir).enrollment, 'utf8'));
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
  });

  it(`acks ${CONCURRENCY} commands at once, and fetches config ${CONCURRENCY} times at once, with 0 failures`, async () => {
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

    const transport = createHttpTransport();
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
  }, 60_000);
});
