import { stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isServerStartError } from '../../src/errors/server-start-error.js';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { captureLogger } from '../support/capture-logger.js';
import { enrollBody, postJson } from '../support/http.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('startServer on PGlite in a data directory', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let server: RunningServer;
  const log = captureLogger();

  beforeAll(async () => {
    dir = await makeTempDir();
    server = await startServer({ port: 0, dataDir: dir.path, logger: log.logger });
  });
  afterAll(async () => {
    await server?.stop();
    await dir?.remove();
  });

  it('answers /healthz and /readyz', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('serves Prometheus metrics labelled by route pattern, with the ingestion counters', async () => {
    await fetch(`${server.url}/healthz`);
    await fetch(`${server.url}/v1/admin/devices/dev_does_not_exist`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    await fetch(`${server.url}/no/such/path/${Math.random()}`);
    server.metrics.eventsIngested(3);
    server.metrics.eventsRejected('no_consent', 2);
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('# TYPE fieldline_http_request_duration_seconds histogram');
    expect(text).toMatch(/fieldline_db_pool_connections\{state="open"\} 1/);
    expect(text).toMatch(
      /fieldline_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/healthz",status="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /fieldline_http_requests_total\{method="GET",route="\/v1\/admin\/devices\/:id",status="404"\} 1/,
    );
    expect(text).toMatch(
      /fieldline_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/,
    );
    expect(text).not.toContain('dev_does_not_exist');
    expect(text).toContain('fieldline_events_ingested_total 3');
    expect(text).toContain('fieldline_events_duplicate_total 0');
    expect(text).toContain('fieldline_events_rejected_total{code="no_consent"} 2');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('fieldline_realtime_connections 0');
  });

  it('runs raw-event retention and reports it in /metrics', async () => {
    expect(server.retention).toBeDefined();
    const report = await server.retention?.run();
    expect(report?.partitions).toBeGreaterThanOrEqual(8);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain(`fieldline_events_partitions ${report?.partitions}`);
    const last = /^fieldline_retention_last_run_timestamp_seconds (\S+)$/m.exec(text)?.[1];
    expect(Number(last)).toBe(Date.parse(report?.ranAt ?? '') / 1000);
  });

  it('issues an install token that enrolls a device over real HTTP', async () => {
    const install = await server.issueInstallToken();
    const enrolled = await postJson(`${server.url}/v1/enroll`, install.token, await enrollBody());
    expect(enrolled.status).toBe(201);
    expect(enrolled.body.tenant).toBe('default');
    expect(enrolled.body.serverPublicKeys).toEqual(server.serverPublicKeys);
    const devices = await fetch(`${server.url}/v1/admin/devices`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    const ids = ((await devices.json()) as { devices: Array<{ id: string }> }).devices.map(
      (device) => device.id,
    );
    expect(ids).toContain(enrolled.body.deviceId);
    const again = await postJson(`${server.url}/v1/enroll`, install.token, await enrollBody());
    expect(again.status).toBe(401);
  });

  it('logs one JSON line per request with method, path, status and duration, and no secrets', async () => {
    const install = await server.issueInstallToken();
    const enrolled = await postJson(`${server.url}/v1/enroll`, install.token, await enrollBody());
    await fetch(`${server.url}/v1/config?secret=query-value`, {
      headers: { authorization: `Bearer ${enrolled.body.deviceToken}` },
    });
    const records = log.records();
    const enroll = records.filter((r) => r.msg === 'request' && r.path === '/v1/enroll');
    expect(enroll.at(-1)).toMatchObject({ method: 'POST', status: 201, level: 30 });
    expect(typeof enroll.at(-1)?.durationMs).toBe('number');
    expect(records.find((r) => r.path === '/v1/config')).toMatchObject({ status: 200 });
    const all = log.lines.join('\n');
    for (const secret of [
      server.adminToken,
      install.token,
      enrolled.body.deviceToken,
      'query-value',
      'lab-01',
    ]) {
      expect(all).not.toContain(secret);
    }
  });

  it('writes the identity and the generated admin token owner-only', async () => {
    expect(server.identityCreated).toBe(true);
    expect(server.adminTokenSource).toBe('generated');
    for (const name of ['server-identity.json', 'admin-token', 'webhook-secret.key']) {
      expect((await stat(join(dir.path, name))).mode & 0o777).toBe(0o600);
    }
    expect((await stat(dir.path)).mode & 0o777).toBe(0o700);
  });
});

describe('restarts and graceful stop', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await dir?.remove();
  });
  const quiet = () => captureLogger('silent').logger;

  it('reuses the identity and the admin token on restart, and keeps enrolled devices', async () => {
    const first = await startServer({ port: 0, dataDir: dir.path, logger: quiet() });
    const install = await first.issueInstallToken('acme');
    const enrolled = await postJson(`${first.url}/v1/enroll`, install.token, await enrollBody());
    expect(enrolled.status).toBe(201);
    await first.stop();

    const second = await startServer({ port: 0, dataDir: dir.path, logger: quiet() });
    try {
      expect(second.identityCreated).toBe(false);
      expect(second.serverPublicKeys).toEqual(first.serverPublicKeys);
      expect([second.adminTokenSource, second.adminToken]).toEqual(['file', first.adminToken]);
      expect(second.migrationsApplied).toEqual([]);
      const config = await fetch(`${second.url}/v1/config`, {
        headers: { authorization: `Bearer ${enrolled.body.deviceToken}` },
      });
      expect(config.status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('uses a given admin token instead of the stored one', async () => {
    const server = await startServer({
      port: 0,
      dataDir: dir.path,
      logger: quiet(),
      adminToken: 'operator-chosen-token-0123456789',
    });
    try {
      expect(server.adminTokenSource).toBe('option');
      const ok = await fetch(`${server.url}/v1/admin/devices`, {
        headers: { authorization: 'Bearer operator-chosen-token-0123456789' },
      });
      expect(ok.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('lets an in-flight request finish on stop, and refuses new connections', async () => {
    const server = await startServer({ port: 0, dataDir: dir.path, logger: quiet() });
    // Trailing whitespace is valid JSON: a large body the API still accepts.
    const body = Buffer.from(`${JSON.stringify(await enrollBody())}${' '.repeat(200_000)}`);
    const half = Math.floor(body.length / 2);
    let finish: () => void = () => undefined;
    const response = new Promise<{ status: number; connection: string | undefined; text: string }>(
      (resolve, reject) => {
        const request = httpRequest(
          `${server.url}/v1/enroll`,
          {
            method: 'POST',
            headers: {
              authorization: 'Bearer fl_install_not_a_real_token',
              'content-type': 'application/json',
              'content-length': String(body.length),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }),
            );
          },
        );
        request.on('error', reject);
        request.write(body.subarray(0, half));
        // The rest is sent only after stop() has begun, below.
        finish = () => request.end(body.subarray(half));
      },
    );
    await expect.poll(() => server.inFlightRequests(), { timeout: 5000 }).toBe(1);

    let stopped = false;
    const stopping = server.stop().then((result) => {
      stopped = true;
      return result;
    });
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(stopped).toBe(false);

    finish();
    const answered = await response;
    // The body was read in full and handled: the made-up token is refused by the API, not cut off.
    expect(answered.status).toBe(401);
    expect(JSON.parse(answered.text).error.code).toBe('install_token_invalid');
    expect(answered.connection).toBe('close');
    expect(await stopping).toEqual({ forced: false });
  });

  it('cuts a request that outlives the shutdown timeout', async () => {
    const server = await startServer({
      port: 0,
      dataDir: dir.path,
      logger: quiet(),
      shutdownTimeoutMs: 200,
    });
    const request = httpRequest(`${server.url}/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
    });
    const outcome = new Promise<string>((resolve) => {
      request.on('error', (error) => resolve((error as NodeJS.ErrnoException).code ?? 'error'));
      request.on('response', () => resolve('response'));
    });
    request.write('{');
    await expect.poll(() => server.inFlightRequests(), { timeout: 5000 }).toBe(1);
    expect(await server.stop()).toEqual({ forced: true });
    expect(await outcome).toBe('ECONNRESET');
  });
});

describe('refusing unsafe or broken files', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  async function startError(files: Record<string, { text: string; mode: number }>) {
    const dataDir = await makeTempDir();
    try {
      for (const [name, file] of Object.entries(files)) {
        await writeFile(join(dataDir.path, name), file.text, { mode: file.mode });
      }
      return await startServer({
        port: 0,
        dataDir: dataDir.path,
        logger: captureLogger('silent').logger,
      }).then(
        async (server) => {
          await server.stop();
          throw new Error('started, but should have refused');
        },
        (error: unknown) => error,
      );
    } finally {
      await dataDir.remove();
    }
  }

  it('refuses an identity file that is not JSON, with a clear message', async () => {
    const error = await startError({ 'server-identity.json': { text: '{ nope', mode: 0o600 } });
    expect(isServerStartError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_identity_file' });
    expect((error as Error).message).toMatch(/server-identity\.json is not valid JSON/);
    expect((error as Error).message).toMatch(/Restore it from a backup/);
  });

  it('refuses an identity file whose keys do not match', async () => {
    const key = 'A'.repeat(43);
    const text = JSON.stringify({
      version: 1,
      signingPublicKey: key,
      signingPrivateKey: key,
      encryptionPublicKey: key,
      encryptionPrivateKey: key,
    });
    const error = await startError({ 'server-identity.json': { text, mode: 0o600 } });
    expect(error).toMatchObject({ code: 'invalid_identity_file' });
    expect((error as Error).message).toMatch(/is not a valid server identity/);
  });

  it.skipIf(process.platform === 'win32')(
    'refuses secret files that others can read, naming the fix',
    async () => {
      const identity = await startError({ 'server-identity.json': { text: '{}', mode: 0o644 } });
      expect(identity).toMatchObject({ code: 'insecure_file_permissions' });
      expect((identity as Error).message).toMatch(/mode 0644.*chmod 600/s);
      const admin = await startError({
        'admin-token': { text: 'a-long-enough-admin-token-value', mode: 0o640 },
      });
      expect(admin).toMatchObject({ code: 'insecure_file_permissions' });
    },
  );

  it('refuses a short admin token and a bad port', async () => {
    await expect(
      startServer({
        dataDir: dir.path,
        adminToken: 'short',
        logger: captureLogger('silent').logger,
      }),
    ).rejects.toMatchObject({ code: 'invalid_admin_token' });
    await expect(startServer({ port: 70_000, dataDir: dir.path })).rejects.toMatchObject({
      code: 'invalid_option',
    });
    await expect(
      startServer({ port: 0, dataDir: dir.path, retentionIntervalMs: -1 }),
    ).rejects.toMatchObject({ code: 'invalid_option' });
  });
});
