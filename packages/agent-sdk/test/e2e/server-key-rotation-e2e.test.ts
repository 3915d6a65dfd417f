// Server key rotation with an overlap window, end to end: an agent enrolled before
// `rotate-keys` keeps delivering through the overlap (frames sealed to the old key are still
// opened), follows the rotation signed by the key it pinned, and ends pinned to the new key,
// sealing to it and accepting the socket's welcomes it signs. A chain that does not verify
// from the pinned key moves nothing.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, publicKeysOf } from '@fieldline/core';
import { rotateServerKeys } from '@fieldline/reference-server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Agent, createAgent } from '../../src/agent.js';
import { followServerKeys } from '../../src/follow-server-keys.js';
import { statePaths } from '../../src/state/state-files.js';
import type { Transport } from '../../src/transport/http-transport.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2, maxElapsedMs: 2_000 };
const FAST_REALTIME = { backoff: { baseMs: 20, capMs: 200 } };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
) {
  return vi.waitUntil(probe, { timeout: 15_000, interval: 20 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function backend(options: { port?: number; dataDir: string }): Promise<TestBackend> {
  const server = await startBackend(options);
  cleanups.push(() => server.stop());
  return server;
}

function pinned(stateDir: string) {
  const path = join(stateDir, 'enrollment.json');
  return {
    keys: JSON.parse(readFileSync(path, 'utf8')).serverPublicKeys as {
      signingPublicKey: string;
      encryptionPublicKey: string;
    },
    mode: statSync(path).mode & 0o777,
  };
}

async function delivers(agent: Agent, server: TestBackend, deviceId: string, app: string) {
  const tracked = agent.track('activity.app.launched', { app, pid: 1 });
  expect(tracked.status).toBe('queued');
  expect(await agent.flush()).toMatchObject({ delivered: 1, deferred: 0 });
  expect(await server.storedEventIds(deviceId)).toContain(
    tracked.status === 'queued' ? tracked.id : '',
  );
}

describe('server key rotation', () => {
  it('keeps an agent enrolled before delivering through the overlap, and ends it on the new key', async () => {
    const dataDir = tempDir('fl-agent-srvkey-');
    const first = await backend({ dataDir });
    await first.admin('/v1/admin/policies', {
      tenant: 'acme',
      version: 1,
      scopes: ['activity'],
      text: 'P.',
    });
    const stateDir = tempStateDir();
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const agent = await createAgent({ stateDir, retry: FAST_RETRY, realtime: FAST_REALTIME });
    cleanups.push(() => agent.shutdown({ timeoutMs: 500 }).then(() => undefined));
    const { deviceId } = await agent.enroll({
      serverUrl: first.url,
      installToken: await first.installToken(),
    });
    await first.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'ready');
    const oldKeys = pinned(stateDir).keys;
    expect(oldKeys).toEqual(first.server.serverPublicKeys);
    await delivers(agent, first, deviceId, 'before');

    // The operator rotates while the server is down, then starts it again on the same port.
    await first.server.stop();
    const rotated = await rotateServerKeys(dataDir, { overlapDays: 1 });
    expect(rotated.previous).toEqual(oldKeys);
    expect(statSync(join(dataDir, 'server-key-history.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'server-identity.json')).mode & 0o777).toBe(0o600);
    const second = await backend({ port: first.server.port, dataDir });
    expect(second.server.serverPublicKeys).toEqual(rotated.current);

    // Sealed to the old key, still opened in the overlap; the answer names the new key.
    await delivers(agent, second, deviceId, 'during-overlap');
    await waitFor(
      () => pinned(stateDir).keys.signingPublicKey === rotated.current.signingPublicKey,
      'the agent to pin the new key',
    );
    expect(pinned(stateDir)).toEqual({ keys: rotated.current, mode: 0o600 });
    await waitFor(
      () => agent.status().realtime.state === 'ready',
      'a welcome signed by the new key',
    );
    await delivers(agent, second, deviceId, 'on-new-key');
  });

  it('moves no pin when the chain does not verify from the pinned key', async () => {
    const dataDir = tempDir('fl-agent-srvkey-');
    const server = await backend({ dataDir });
    const stateDir = tempStateDir();
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const agent = await createAgent({ stateDir, retry: FAST_RETRY });
    cleanups.push(() => agent.shutdown({ timeoutMs: 500 }).then(() => undefined));
    await agent.enroll({ serverUrl: server.url, installToken: await server.installToken() });
    const paths = statePaths(stateDir);
    const enrollment = JSON.parse(readFileSync(paths.enrollment, 'utf8'));
    // A server (or someone in the middle) announcing keys with no rotation from the pinned one.
    const forged: Transport = {
      async request() {
        return {
          status: 200,
          header: () => undefined,
          body: {
            current: publicKeysOf(await generateIdentity()),
            rotations: [],
          },
        };
      },
    };
    expect(await followServerKeys(paths, enrollment, forged)).toBe(enrollment);
    expect(pinned(stateDir).keys).toEqual(server.server.serverPublicKeys);
  });
});
