// Issue 11 point 1 on the shared PostgreSQL cluster (TEST_DATABASE_URL; CI sets it): the
// server's backends are terminated and its database refuses connections for a while. The
// spawned reference server must stay up, answer 503 `unavailable` with Retry-After (and a
// failing /readyz) meanwhile, recover by itself, and store every acknowledged event exactly
// once. Only a database of this suite's own is touched: it is created here and dropped after.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  clusterTestsEnabled,
  type Instance,
  listening,
  startInstance,
  url,
} from '../support/cluster.js';
import {
  enrollOutageDevice,
  type HeartbeatEvent,
  postUntilStored,
  request,
  storedEventCounts,
} from '../support/outage.js';
import { makeTempDir } from '../support/temp-dir.js';

const database = `fieldline_dbloss_${randomBytes(6).toString('hex')}`;

function databaseUrl(base: string, name: string): string {
  const parsed = new URL(base);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

describe.skipIf(!clusterTestsEnabled)('database outage on the shared cluster', () => {
  let admin: pg.Client;
  let instance: Instance;
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  const ownUrl = databaseUrl(url as string, database);

  // Only this suite's database: its name is in the statement, never a pattern.
  const terminateBackends = () =>
    admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${database}`);
    dir = await makeTempDir();
    instance = startInstance(dir.path, ownUrl);
  }, 30_000);
  afterAll(async () => {
    instance?.child.kill('SIGKILL');
    await instance?.exit;
    await admin?.query(`alter database ${database} with allow_connections true`).catch(() => {});
    await admin?.query(`drop database if exists ${database} with (force)`);
    await admin?.end();
    await dir?.remove();
  });

  it('survives terminated backends and a refusing database, then stores every acknowledged event once', async () => {
    const base = await listening(instance);
    const device = await enrollOutageDevice(base);
    const acknowledged: HeartbeatEvent[] = [];

    const before = device.events(5);
    expect((await device.post(before)).status).toBe(200);
    acknowledged.push(...before);
    // A second device holds a socket through it all: the bus must come back to reach it.
    const online = await enrollOutageDevice(base);
    const socket = await online.hello();
    expect(socket.frames[0]).toMatchObject({ kind: 'welcome' });

    // 1. Every backend of the server (pool and bus) is cut: no crash, and the next
    //    requests are served on fresh connections.
    await terminateBackends();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(instance.child.exitCode).toBeNull();
    const afterCut = device.events(5);
    // A request can meet a connection cut mid-flight: it is then refused, never half-stored.
    await postUntilStored(device, afterCut);
    acknowledged.push(...afterCut);
    expect((await request(`${base}/readyz`)).status).toBe(200);

    // 2. The database refuses connections for a while.
    await admin.query(`alter database ${database} with allow_connections false`);
    await terminateBackends();
    const during = device.events(5);
    const refused = await device.post(during);
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    const devices = await request(`${base}/v1/admin/devices`, { token: ADMIN_TOKEN });
    expect(devices).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    expect(devices.retryAfter).not.toBeNull();
    const command = await request(`${base}/v1/admin/devices/${device.deviceId}/commands`, {
      token: ADMIN_TOKEN,
      body: { type: 'ping' },
    });
    expect(command).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    const ready = await request(`${base}/readyz`);
    expect(ready).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    expect(ready.retryAfter).not.toBeNull();
    expect((await request(`${base}/healthz`)).status).toBe(200);
    // The WebSocket gateway refuses the hello with "try again later" and stays up.
    const hello = await device.hello();
    expect(hello.closeCode).toBe(1013);
    expect(instance.child.exitCode).toBeNull();

    // 3. The database is back: the server recovers by itself, and the refused batch is
    //    stored when sent again.
    await admin.query(`alter database ${database} with allow_connections true`);
    await expect
      .poll(async () => (await request(`${base}/readyz`)).status, { timeout: 20_000 })
      .toBe(200);
    await postUntilStored(device, during);
    acknowledged.push(...during);
    const after = device.events(5);
    expect((await device.post(after)).status).toBe(200);
    acknowledged.push(...after);
    // Sent twice (an agent's retry after a lost answer): still stored once.
    expect((await device.post(after)).status).toBe(200);

    // The bus listens again by itself (or re-reads what it missed): a new command reaches
    // the socket that stayed open, live.
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
    expect(socket.closeCode).toBeUndefined();
    socket.socket.close();

    const stored = await storedEventCounts(ownUrl, device.deviceId);
    expect([...stored.keys()].sort()).toEqual(acknowledged.map((event) => event.id).sort());
    expect([...stored.values()].every((count) => count === 1)).toBe(true);
    expect(instance.child.exitCode).toBeNull();
    expect(instance.stderr).not.toMatch(/Unhandled 'error' event|uncaught/i);
  }, 55_000);
});
