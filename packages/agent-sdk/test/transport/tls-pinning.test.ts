// Issue 11 point 12: HTTPS/WSS from certificate files on the built reference server (its own
// process), and SPKI pinning in the agent on every HTTPS request and on the WSS connection.
// The certificates are made with the openssl CLI in a temp dir at test time.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Agent, type AgentOptions, createAgent } from '../../src/agent.js';
import { statePaths } from '../../src/state/state-files.js';
import { isTlsPinError } from '../../src/transport/tls-pin-error.js';
import { makeTestCertificates, type TestCertificates } from './make-test-certificates.js';
import { SERVER_CLI, type SpawnedServer, spawnReferenceServer } from './spawn-reference-server.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2, maxElapsedMs: 2_000 };
const FAST_REALTIME = { backoff: { baseMs: 20, capMs: 200 } };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000) {
  return vi.waitUntil(probe, { timeout: timeoutMs, interval: 20 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

async function openAgent(stateDir: string, options: Partial<AgentOptions> = {}): Promise<Agent> {
  const agent = await createAgent({
    stateDir,
    retry: FAST_RETRY,
    realtime: FAST_REALTIME,
    ...options,
  });
  cleanups.push(() => agent.shutdown({ timeoutMs: 500 }));
  return agent;
}

describe.skipIf(!existsSync(SERVER_CLI))('TLS: HTTPS/WSS with SPKI pins', () => {
  let certs: TestCertificates;
  let certDir: string;
  let server: SpawnedServer;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'fl-tls-certs-'));
    certs = makeTestCertificates(certDir);
    server = await spawnReferenceServer({
      args: ['--tls-cert', certs.certFile, '--tls-key', certs.keyFile],
      caPem: certs.caPem,
    });
    await server.admin('/v1/admin/policies', {
      tenant: 'acme',
      version: 1,
      scopes: ['activity', 'network'],
      text: 'Policy.',
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (certDir !== undefined) rmSync(certDir, { recursive: true, force: true });
  });

  it('serves HTTPS and prints the pin of its key, which is the one openssl computes', () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(certs.opensslServerPin).toBe(certs.serverPin);
    expect(server.stdout()).toContain(`TLS pin:      ${certs.serverPin}`);
  });

  it('enrolls, delivers events over HTTPS and connects over WSS with the right pin and a backup', async () => {
    const stateDir = tempDir('fl-tls-agent-');
    const tls = { pins: [certs.serverPin, certs.unusedPin], ca: certs.caPem };
    const agent = await openAgent(stateDir, { tls });
    const { deviceId } = await agent.enroll({
      serverUrl: server.url,
      installToken: await server.installToken(),
    });
    // The pins are kept with the enrollment, private to the device.
    expect(JSON.parse(readFileSync(statePaths(stateDir).tls, 'utf8'))).toEqual({
      version: 1,
      pins: tls.pins,
      ca: [certs.caPem],
    });
    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'WSS ready');
    await waitFor(() => agent.status().consent.status === 'granted', 'consent granted');
    expect(agent.track('activity.app.launched', { app: 'over-tls' }).status).toBe('queued');
    const flushed = await agent.flush();
    expect(flushed.delivered).toBe(1);
    const events = await server.admin(`/v1/admin/devices/${deviceId}/events?limit=10`);
    expect(JSON.stringify(events.body)).toContain('over-tls');
  }, 30_000);

  it('accepts a chain whose only match is the backup pin (here the CA key), later runs use the kept pins', async () => {
    const stateDir = tempDir('fl-tls-agent-');
    const first = await openAgent(stateDir, {
      tls: { pins: [certs.unusedPin, certs.caPin], ca: certs.caPem },
      realtime: { enabled: false },
    });
    const { deviceId } = await first.enroll({
      serverUrl: server.url,
      installToken: await server.installToken(),
    });
    await first.shutdown();
    // A later run is given nothing: the pins and CA kept at enrollment apply.
    const later = await openAgent(stateDir);
    await later.start();
    await waitFor(() => later.status().realtime.state === 'ready', 'WSS ready with kept pins');
    const device = await server.admin(`/v1/admin/devices/${deviceId}`);
    expect(device.body.online).toBe(true);
  }, 30_000);

  it('refuses a server whose chain matches no pin: typed error, nothing sent, nothing written', async () => {
    const stateDir = tempDir('fl-tls-agent-');
    const agent = await openAgent(stateDir, {
      tls: { pins: [certs.unusedPin], ca: certs.caPem },
      realtime: { enabled: false },
    });
    const installToken = await server.installToken();
    const refused = await agent.enroll({ serverUrl: server.url, installToken }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTlsPinError(refused)).toBe(true);
    expect(refused).toMatchObject({
      code: 'tls_pin_mismatch',
      details: { expected: [certs.unusedPin], presented: [certs.serverPin, certs.caPin] },
    });
    expect((refused as Error).message).toMatch(/matches none of the 1 pinned key/);
    expect(existsSync(statePaths(stateDir).enrollment)).toBe(false);
    expect(existsSync(statePaths(stateDir).tls)).toBe(false);
    // The request never reached the server: the one-time token is still unused.
    const retry = await openAgent(tempDir('fl-tls-agent-'), {
      tls: { pins: [certs.serverPin], ca: certs.caPem },
      realtime: { enabled: false },
    });
    await expect(retry.enroll({ serverUrl: server.url, installToken })).resolves.toMatchObject({
      deviceId: expect.any(String),
    });
  }, 30_000);

  it('checks the pins on every request and on the socket: a changed key keeps events spooled and the socket closed', async () => {
    const stateDir = tempDir('fl-tls-agent-');
    const enroller = await openAgent(stateDir, {
      tls: { pins: [certs.serverPin], ca: certs.caPem },
      realtime: { enabled: false },
    });
    const { deviceId } = await enroller.enroll({
      serverUrl: server.url,
      installToken: await server.installToken(),
    });
    await enroller.shutdown();
    await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    // As if the server now presented a key this device does not pin.
    writeFileSync(
      statePaths(stateDir).tls,
      JSON.stringify({ version: 1, pins: [certs.unusedPin], ca: [certs.caPem] }),
      { mode: 0o600 },
    );
    const agent = await openAgent(stateDir);
    const errors: unknown[] = [];
    agent.on('error', (error) => errors.push(error));
    await agent.start();
    await waitFor(() => errors.some(isTlsPinError), 'the socket refused by the pin check');
    expect(agent.status().realtime.state).not.toBe('ready');
    agent.track('activity.app.launched', { app: 'must-not-leave' });
    const flushed = await agent.flush();
    expect(flushed).toMatchObject({ delivered: 0, deferred: 1 });
    // Not retried within the flush (fatal), and named for what it is.
    expect(flushed.reason).toMatch(/^fatal: .*matches none of the 1 pinned key/);
    expect(agent.status().spool.files).toBeGreaterThan(0);
    const events = await server.admin(`/v1/admin/devices/${deviceId}/events?limit=10`);
    expect(JSON.stringify(events.body)).not.toContain('must-not-leave');
    const device = await server.admin(`/v1/admin/devices/${deviceId}`);
    expect(device.body.online).toBe(false);
  }, 30_000);
});
