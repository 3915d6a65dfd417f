// The built `fieldline-agent` CLI, run as child processes against a real
// reference server in this process (embedded PGlite in a temp dir).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backend,
  removeDir,
  requireBuiltCli,
  runCli,
  startBackend,
  storedEvents,
  tempDir,
} from './support.js';

describe('fieldline-agent usage', () => {
  beforeAll(requireBuiltCli);

  it('--help prints the usage and exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: fieldline-agent');
  });

  it.each([
    [[]],
    [['launch', '--state-dir', '/tmp/x']],
    [['run']],
    [['run', '--state-dir', '/tmp/x', '--json']],
    [['enroll', '--state-dir', '/tmp/x', '--server', 'http://127.0.0.1:1']],
    [['enroll', '--state-dir', '/tmp/x', '--server', 'not a url', '--token', 't']],
    [['track', '--state-dir', '/tmp/x']],
    [['job', 'backup', '--state-dir', '/tmp/x']],
    [['flush', '--state-dir', '/tmp/x', '--', 'ls']],
    [['status', '--state-dir', '/tmp/x', '--bogus']],
  ])('usage error %j exits 2', async (args) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^fieldline-agent: /);
    expect(run.stderr).toContain('Usage: fieldline-agent');
  });
});

describe('fieldline-agent against a reference server', () => {
  let backend: Backend;
  let serverDir: string;
  let stateDir: string;
  let deviceId: string;

  beforeAll(async () => {
    requireBuiltCli();
    serverDir = tempDir('fl-ref-agent-server-');
    stateDir = tempDir('fl-ref-agent-state-');
    backend = await startBackend({ dataDir: serverDir });
    await backend.publishPolicy();
  });
  afterAll(async () => {
    await backend?.stop().catch(() => undefined);
    removeDir(serverDir);
    removeDir(stateDir);
  });

  it('enroll prints the device id and tenant', async () => {
    const token = await backend.installToken();
    const run = await runCli([
      'enroll',
      '--server',
      backend.url,
      '--token',
      token,
      '--state-dir',
      stateDir,
      '--hostname',
      'cli-test-host',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const id = /device id:\s+(\S+)/.exec(run.stdout)?.[1];
    expect(id).toMatch(/^dev_/);
    expect(run.stdout).toMatch(/tenant:\s+acme/);
    deviceId = id as string;
  });

  it('track is refused before consent (exit 1) and stored once the admin grants', async () => {
    const data = JSON.stringify({ app: 'calculator', pid: 4242 });
    const refused = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      data,
      '--state-dir',
      stateDir,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no_consent');
    expect(await storedEvents(backend, deviceId)).toEqual([]);

    await backend.grant(deviceId);
    const sent = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      data,
      '--state-dir',
      stateDir,
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    const id = /^sent activity\.app\.launched (\S+)$/m.exec(sent.stdout)?.[1];
    expect(id).toBeDefined();
    const stored = await storedEvents(backend, deviceId);
    expect(stored).toEqual([
      { id, type: 'activity.app.launched', data: { app: 'calculator', pid: 4242 } },
    ]);
  });

  it('track: malformed JSON exits 2, invalid data exits 1', async () => {
    const malformed = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      '{"app":',
      '--state-dir',
      stateDir,
    ]);
    expect(malformed.code).toBe(2);
    const invalid = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      '{"unknown":1}',
      '--state-dir',
      stateDir,
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('refused (invalid)');
    const unknownType = await runCli(['track', 'made.up', '--state-dir', stateDir]);
    expect(unknownType.code).toBe(1);
    expect(unknownType.stderr).toContain('unknown_type');
  });

  const failingJob = ['node', '-e', "process.stdout.write('x'.repeat(1000)); process.exit(3)"];

  it('job runs the command, exits with its code, and stores a failed report', async () => {
    const run = await runCli([
      'job',
      'nightly-backup',
      '--state-dir',
      stateDir,
      '--',
      ...failingJob,
    ]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('x'.repeat(1000));
    expect(run.stderr).toContain('job nightly-backup failed (exit 3');
    const reports = await backend.server.app.context.db
      .selectFrom('reports')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('job', '=', 'nightly-backup')
      .execute();
    expect(reports).toHaveLength(1);
    expect(reports[0]?.status).toBe('failed');
    expect(reports[0]?.error).toMatchObject({ code: 'exit_3' });
    expect(String(reports[0]?.error?.message)).toContain('exitCode=3 stdoutBytes=1000');
  });

  it('job: a succeeding command is a succeeded report with its metrics', async () => {
    const run = await runCli([
      'job',
      'say-hello',
      '--state-dir',
      stateDir,
      '--',
      'node',
      '-e',
      "process.stdout.write('hello'); process.stderr.write('!!')",
    ]);
    expect(run.code).toBe(0);
    const report = await backend.server.app.context.db
      .selectFrom('reports')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('job', '=', 'say-hello')
      .executeTakeFirstOrThrow();
    expect(report.status).toBe('succeeded');
    expect(report.metrics).toMatchObject({ exitCode: 0, stdoutBytes: 5, stderrBytes: 2 });
    expect(report.metrics.durationMs).toBeGreaterThanOrEqual(0);
  });

  // agent-sdk 0.1.0's runJob reports `metrics: {}` for a job whose function throws, so the
  // failed job's metrics only reach the server inside error.message. Flips when the SDK keeps them.
  it('job: a failed report carries metrics exitCode 3 and stdoutBytes 1000', async () => {
    const report = await backend.server.app.context.db
      .selectFrom('reports')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('job', '=', 'nightly-backup')
      .executeTakeFirstOrThrow();
    expect(report.metrics).toMatchObject({ exitCode: 3, stdoutBytes: 1000 });
  });

  it('status --json parses and shows the device id; text status lists the jobs', async () => {
    const json = await runCli(['status', '--json', '--state-dir', stateDir]);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status.deviceId).toBe(deviceId);
    expect(status.consent.status).toBe('granted');
    expect(status.jobs['nightly-backup'].status).toBe('failed');
    const text = await runCli(['status', '--state-dir', stateDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`device ${deviceId}`);
    expect(text.stdout).toMatch(/activity\s+granted/);
  });

  it('run --once exits 0 and leaves the status file current', async () => {
    const run = await runCli(['run', '--once', '--state-dir', stateDir]);
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse((await runCli(['status', '--json', '--state-dir', stateDir])).stdout);
    expect(status.lifecycle).toBe('stopped');
    expect(status.connection).toBe('online');
    expect(status.spool.files).toBe(0);
  });

  it('server down: track spools (exit 0) and flush exits 1; back up: flush stores it exactly once', async () => {
    const { port } = backend;
    await backend.stop();
    const data = JSON.stringify({ app: 'offline-editor', pid: 77 });
    const spooled = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      data,
      '--state-dir',
      stateDir,
    ]);
    expect(spooled.code, spooled.stderr).toBe(0);
    const id = /^spooled activity\.app\.launched (\S+)/m.exec(spooled.stdout)?.[1];
    expect(id).toBeDefined();
    const offlineFlush = await runCli(['flush', '--state-dir', stateDir]);
    expect(offlineFlush.code).toBe(1);
    const offlineOnce = await runCli(['run', '--once', '--state-dir', stateDir]);
    expect(offlineOnce.code).toBe(1);

    backend = await startBackend({ port, dataDir: serverDir });
    const flushed = await runCli(['flush', '--state-dir', stateDir]);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(flushed.stdout).toMatch(/, 0 left/);
    const again = await runCli(['flush', '--state-dir', stateDir]);
    expect(again.code).toBe(0);
    const stored = (await storedEvents(backend, deviceId)).filter((event) => event.id === id);
    expect(stored).toEqual([
      { id, type: 'activity.app.launched', data: { app: 'offline-editor', pid: 77 } },
    ]);
  });
});
