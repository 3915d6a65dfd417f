// Issue 11 point 1 with a real PostgreSQL restart: a private instance (started by this suite,
// on its own port and socket directory) is stopped under the spawned reference server while a
// device keeps sending, then started again. The server must stay up, refuse with 503
// `unavailable` + Retry-After while the database is away (never 2xx for events it did not
// store), fail /readyz but not /healthz, recover by itself, and hold every acknowledged event
// exactly once. Runs wherever PostgreSQL's binaries are installed, and always in CI
// (TEST_DATABASE_URL set): there, missing binaries fail the suite instead of skipping it.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, CLI, type Instance, listening, startInstance } from '../support/cluster.js';
import {
  enrollOutageDevice,
  type HeartbeatEvent,
  type OutageDevice,
  postUntilStored,
  request,
  storedEventCounts,
} from '../support/outage.js';
import {
  findPostgresBinaries,
  type PrivatePostgres,
  startPrivatePostgres,
} from '../support/private-postgres.js';
import { makeTempDir } from '../support/temp-dir.js';

const binaries = findPostgresBinaries();
const required = Boolean(process.env.TEST_DATABASE_URL);

describe.skipIf((binaries === undefined && !required) || !existsSync(CLI))(
  'database restart under a running server (private PostgreSQL)',
  () => {
    let postgres: PrivatePostgres | undefined;
    let instance: Instance | undefined;
    let dir: Awaited<ReturnType<typeof makeTempDir>> | undefined;

    beforeAll(async () => {
      if (binaries === undefined) {
        throw new Error(
          'TEST_DATABASE_URL is set but no PostgreSQL binaries (initdb, pg_ctl) were found in ' +
            '/usr/lib/postgresql/<version>/bin; install the server package or set PG_BINDIR.',
        );
      }
      postgres = await startPrivatePostgres(binaries);
      dir = await makeTempDir();
      instance = startInstance(dir.path, postgres.url);
    }, 30_000);
    afterAll(async () => {
      instance?.child.kill('SIGKILL');
      await instance?.exit;
      await postgres?.remove();
      await dir?.remove();
    });

    // Posts new batches back to back until stopped; what was answered 200 is acknowledged,
    // what was answered 503 is kept to send again, anything else fails the test.
    function keepSending(device: OutageDevice) {
      const acknowledged: HeartbeatEvent[] = [];
      const refused: HeartbeatEvent[][] = [];
      const other: string[] = [];
      let running = true;
      const done = (async () => {
        while (running) {
          const events = device.events(3);
          try {
            const answer = await device.post(events);
            if (answer.status === 200) acknowledged.push(...events);
            else if (answer.status === 503 && answer.retryAfter !== null) refused.push(events);
            else other.push(`${answer.status} ${JSON.stringify(answer.body)}`);
          } catch (error) {
            other.push(String(error));
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      return {
        acknowledged,
        refused,
        other,
        async stop() {
          running = false;
          await done;
        },
      };
    }

    it('answers 503 while PostgreSQL restarts, recovers by itself, and loses no acknowledged event', async () => {
      if (instance === undefined || postgres === undefined) throw new Error('not started');
      const base = await listening(instance);
      const device = await enrollOutageDevice(base);
      const online = await enrollOutageDevice(base);
      const socket = await online.hello();
      expect(socket.frames[0]).toMatchObject({ kind: 'welcome' });

      const sender = keepSending(device);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await postgres.stop();

      // Away: every database route refuses with 503 + Retry-After; the process lives.
      const during = device.events(4);
      const refused = await device.post(during);
      expect(refused).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      for (const path of ['/v1/admin/devices', `/v1/admin/devices/${device.deviceId}`]) {
        const answer = await request(`${base}${path}`, { token: ADMIN_TOKEN });
        expect(answer).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
        expect(answer.retryAfter).not.toBeNull();
      }
      const ready = await request(`${base}/readyz`);
      expect(ready).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
      expect((await request(`${base}/healthz`)).status).toBe(200);
      expect((await device.hello()).closeCode).toBe(1013);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(instance.child.exitCode).toBeNull();

      await postgres.start();
      await expect
        .poll(async () => (await request(`${base}/readyz`)).status, { timeout: 20_000 })
        .toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sender.stop();
      expect(sender.other).toEqual([]);
      expect(sender.refused.length).toBeGreaterThan(0);

      // What was refused is sent again, as an agent does, and stored once.
      const acknowledged = [...sender.acknowledged];
      for (const batch of [during, ...sender.refused]) {
        await postUntilStored(device, batch);
        acknowledged.push(...batch);
      }
      const stored = await storedEventCounts(postgres.url, device.deviceId);
      const ids = [...new Set(acknowledged.map((event) => event.id))].sort();
      expect([...stored.keys()].sort()).toEqual(ids);
      expect([...stored.values()].every((count) => count === 1)).toBe(true);

      // The bus listens again: a new command reaches the socket that stayed open, live.
      const created = await request(`${base}/v1/admin/devices/${online.deviceId}/commands`, {
        token: ADMIN_TOKEN,
        body: { type: 'ping' },
      });
      expect(created.status).toBe(201);
      await expect
        .poll(() => socket.frames.some((f) => f.kind === 'command' && f.id === created.body.id), {
          timeout: 15_000,
        })
        .toBe(true);
      socket.socket.close();

      expect(instance.child.exitCode).toBeNull();
      expect(instance.stderr).not.toMatch(/Unhandled 'error' event|uncaught/i);
    }, 55_000);
  },
);
