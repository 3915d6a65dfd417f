// Issue 12's acceptance checks ("done when"), from outside the processes: the reference server
// runs as the `fieldline-server` CLI, an agent enrolled with the `fieldline-agent` CLI reports a
// few seconds of activity, and `GET /v1/reports/activity` shows that device's apps with the
// active and idle time that happened, worked out by hand from docs/analytics.md. Once on the
// default embedded setup (PGlite, in-process analytics), once with NATS JetStream between two
// server processes and an analytics worker process on PostgreSQL.
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { createDatabase, type FieldlineDb } from '@fieldline/server-sdk';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  activityQuery,
  activityReport,
  actOutAWorkingSpell,
  adminCall,
  enrollConsentingDevice,
  expectedAppRows,
  expectReportsToShow,
  storedActivityEvents,
} from './activity-scenario.js';
import {
  freshAdminToken,
  requireBuiltServerCli,
  serverUrl,
  spawnServerProcess,
  stopServerProcesses,
  waitForOutput,
} from './spawned-reference-server.js';
import { removeDir, requireBuiltCli, tempDir } from './support.js';

const stateDirs: string[] = [];
function agentStateDir(): string {
  const dir = tempDir('fl-activity-e2e-agent-');
  stateDirs.push(dir);
  return dir;
}

beforeAll(() => {
  requireBuiltCli();
  requireBuiltServerCli();
});
afterEach(async () => {
  await stopServerProcesses();
  for (const dir of stateDirs.splice(0)) removeDir(dir);
});

/** Checks that the hand-computed figures are the few seconds the agent acted out. */
function expectFiguresOfTheSpell(rows: ReturnType<typeof expectedAppRows>): void {
  const [device, browser, editor] = rows;
  expect(rows.map((row) => row.app)).toEqual(['', 'browser', 'editor']);
  // The editor was in front for the 1.5 s wait (plus the time to start the next command).
  expect(editor?.activeMs).toBeGreaterThanOrEqual(1_500);
  expect(editor?.launches).toBe(1);
  // Idle: the 500 ms threshold before the idle event, then at least the 1 s wait.
  expect(device?.idleMs).toBeGreaterThanOrEqual(1_500);
  expect(device).toMatchObject({ bytesIn: 123_456, bytesOut: 7_890 });
  // The browser keeps the focus until the 15-minute cap, except while the user was idle.
  expect(browser?.activeMs).toBe(15 * 60_000 - (device?.idleMs ?? 0));
}

describe('issue 12 "done when": the activity report shows what the agent collected', () => {
  it('embedded: `fieldline-server start` on PGlite, an agent tracks a working spell, the report matches it (json, csv, device and tenant)', async () => {
    const adminToken = freshAdminToken();
    const server = spawnServerProcess({ args: ['start', '--port', '0'], adminToken });
    const url = await serverUrl(server);
    const stateDir = agentStateDir();
    const deviceId = await enrollConsentingDevice(url, adminToken, stateDir);

    await actOutAWorkingSpell(stateDir);

    const events = await storedActivityEvents(url, adminToken, deviceId);
    expect(events).toHaveLength(6);
    const expected = expectedAppRows(events);
    expectFiguresOfTheSpell(expected);
    await expectReportsToShow(url, adminToken, deviceId, expected);
  }, 60_000);

  // Two server processes share PostgreSQL and NATS: CI sets both variables (.ci/run starts
  // nats-server), so this never skips there; a laptop without them runs the embedded test only.
  it.skipIf(!process.env.TEST_DATABASE_URL || !process.env.TEST_NATS_URL)(
    'NATS JetStream: the agent sends to server A, an analytics worker process reads NATS, server B reports the same figures',
    async () => {
      const databaseUrl = requireTestDatabaseUrl();
      const natsUrl = await requireNats();
      const schema = await createPrivateSchema(databaseUrl);
      try {
        const adminToken = freshAdminToken();
        const shared = {
          adminToken,
          databaseUrl: schema.url,
        };
        const serverArgs = ['start', '--port', '0', '--stream', natsUrl, '--no-analytics'];
        const urlA = await serverUrl(spawnServerProcess({ ...shared, args: serverArgs }));
        // B starts after A has migrated the schema, so the two never race on migrations.
        const urlB = await serverUrl(spawnServerProcess({ ...shared, args: serverArgs }));

        const stateDir = agentStateDir();
        const deviceId = await enrollConsentingDevice(urlA, adminToken, stateDir);
        await actOutAWorkingSpell(stateDir);

        const events = await storedActivityEvents(urlB, adminToken, deviceId);
        expect(events).toHaveLength(6);
        const expected = expectedAppRows(events);
        expectFiguresOfTheSpell(expected);
        // The relays have put every batch on NATS, and neither server aggregates (--no-analytics).
        await expect
          .poll(async () => (await adminCall(urlA, adminToken, '/readyz')).body, {
            timeout: 20_000,
          })
          .toMatchObject({ checks: { stream: { connected: true, unpublished: 0 } } });
        expect(await activityReport(urlB, adminToken, activityQuery({ deviceId }))).toEqual([]);

        // The analytics worker, started now, reads the batches from NATS and fills the figures.
        const worker = spawnServerProcess({
          ...shared,
          args: ['worker', 'analytics', '--stream', natsUrl],
        });
        await waitForOutput(worker, /Workers running: analytics/);
        await expectReportsToShow(urlB, adminToken, deviceId, expected);
        await stopServerProcesses();
        expect(await worker.exit).toBe('0');
      } finally {
        await stopServerProcesses();
        await schema.drop();
      }
    },
    60_000,
  );
});

/** PostgreSQL for the two servers: TEST_DATABASE_URL (CI sets it); never skipped silently. */
function requireTestDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    throw new Error(
      'Two server processes share PostgreSQL: set TEST_DATABASE_URL, e.g. ' +
        'postgres://postgres@127.0.0.1:5432/test (CI sets it).',
    );
  }
  return url;
}

function answers(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** NATS with JetStream: TEST_NATS_URL (CI sets it), else 127.0.0.1:4222, which must answer. */
async function requireNats(): Promise<string> {
  const url = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
  const { hostname, port } = new URL(url);
  if (!(await answers(Number(port || 4222), hostname))) {
    throw new Error(
      `NATS is unreachable at ${url}. Start it: start-stop-daemon --start --oknodo --background ` +
        '--exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server',
    );
  }
  return url;
}

/** A schema of this test's own; every process gets it as its `search_path`. */
async function createPrivateSchema(databaseUrl: string): Promise<{
  readonly url: string;
  drop(): Promise<void>;
}> {
  const name = `fl_activity_e2e_${randomBytes(6).toString('hex')}`;
  let admin: FieldlineDb;
  try {
    admin = await createDatabase({ connectionString: databaseUrl, maxConnections: 1 });
    await admin.db.schema.createSchema(name).execute();
  } catch (error) {
    throw new Error(
      `TEST_DATABASE_URL is set but PostgreSQL is unreachable at ${databaseUrl} (${(error as Error).message}).`,
    );
  }
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    url: url.toString(),
    async drop() {
      await admin.db.schema.dropSchema(name).ifExists().cascade().execute();
      await admin.close();
    },
  };
}
