// Device key rotation end to end, against the real reference server on real sockets and
// files: the agent rotates on its own, the admin forces a rotation (4426 on the socket, 403
// `key_rotation_required` over HTTP) and the agent follows by itself, and a rotation whose
// answer was lost is finished at the next start from the pending identity.
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  createKeyRotationRequest,
  exportedIdentitySchema,
  exportIdentity,
  generateIdentity,
  importIdentity,
  publicKeysOf,
} from '@fieldline/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Agent, type AgentOptions, createAgent } from '../../src/agent.js';
import { writePrivateFile } from '../../src/state/private-file.js';
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
  return vi.waitUntil(probe, { timeout: 10_000, interval: 20 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

async function backend(): Promise<TestBackend> {
  const server = await startBackend();
  cleanups.push(() => server.stop());
  await server.admin('/v1/admin/policies', {
    tenant: 'acme',
    version: 1,
    scopes: ['activity'],
    text: 'Policy.',
  });
  return server;
}

async function openAgent(stateDir: string, options: Partial<AgentOptions> = {}): Promise<Agent> {
  const agent = await createAgent({
    stateDir,
    retry: FAST_RETRY,
    realtime: FAST_REALTIME,
    ...options,
  });
  cleanups.push(() => agent.shutdown({ timeoutMs: 500 }).then(() => undefined));
  return agent;
}

async function enrolled(server: TestBackend) {
  const stateDir = tempStateDir();
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const agent = await openAgent(stateDir);
  const { deviceId } = await agent.enroll({
    serverUrl: server.url,
    installToken: await server.installToken(),
  });
  await server.admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
  return { agent, deviceId, stateDir };
}

function identityOnDisk(stateDir: string) {
  const path = join(stateDir, 'identity.json');
  const imported = importIdentity(
    exportedIdentitySchema.parse(JSON.parse(readFileSync(path, 'utf8'))),
  );
  if (!imported.ok) throw new Error('identity.json is not an identity');
  return { keys: publicKeysOf(imported.value), mode: statSync(path).mode & 0o777 };
}

async function serverKeys(server: TestBackend, deviceId: string) {
  return (await server.admin(`/v1/admin/devices/${deviceId}`)).body as {
    publicKeys: { signingPublicKey: string; encryptionPublicKey: string };
    keyRotationRequired: boolean;
    keysRotatedAt: string | null;
  };
}

async function deliversAnEvent(agent: Agent, server: TestBackend, deviceId: string) {
  const tracked = agent.track('activity.app.launched', { app: 'after-rotation', pid: 7 });
  expect(tracked.status).toBe('queued');
  expect(await agent.flush()).toMatchObject({ delivered: 1, deferred: 0 });
  expect(await server.storedEventIds(deviceId)).toContain(
    tracked.status === 'queued' ? tracked.id : '',
  );
}

describe('device key rotation', () => {
  it('rotates from the device: new keys on disk (0600) and on record, socket back, events delivered', async () => {
    const server = await backend();
    const { agent, deviceId, stateDir } = await enrolled(server);
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'ready');
    const before = identityOnDisk(stateDir);

    await agent.rotateKeys();
    const after = identityOnDisk(stateDir);
    expect(after.keys.signingPublicKey).not.toBe(before.keys.signingPublicKey);
    expect(after.mode).toBe(0o600);
    expect(() => statSync(join(stateDir, 'identity.next.json'))).toThrow();
    const record = await serverKeys(server, deviceId);
    expect(record.publicKeys).toEqual(after.keys);
    expect(record.keysRotatedAt).not.toBeNull();

    await waitFor(() => agent.status().realtime.state === 'ready', 'ready with the new key');
    await deliversAnEvent(agent, server, deviceId);
    const audit = await server.admin('/v1/admin/audit?limit=1000');
    expect(
      (audit.body.entries as Array<{ action: string; subject: string }>).some(
        (entry) => entry.action === 'device.keys_rotated' && entry.subject === `device:${deviceId}`,
      ),
    ).toBe(true);
  });

  it('follows a rotation the admin forces: the socket closes with 4426 and the agent rotates by itself', async () => {
    const server = await backend();
    const { agent, deviceId, stateDir } = await enrolled(server);
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'ready');
    const before = identityOnDisk(stateDir);

    const forced = await server.admin(`/v1/admin/devices/${deviceId}/rotate-keys`, {});
    expect(forced.body).toMatchObject({ keyRotationRequired: true, changed: true });
    // The new identity is renamed into place once the server confirmed it.
    await waitFor(
      () => identityOnDisk(stateDir).keys.signingPublicKey !== before.keys.signingPublicKey,
      'the rotation',
    );
    const after = identityOnDisk(stateDir);
    expect(await serverKeys(server, deviceId)).toMatchObject({
      publicKeys: after.keys,
      keyRotationRequired: false,
    });
    await waitFor(() => agent.status().realtime.state === 'ready', 'ready with the new key');
    await deliversAnEvent(agent, server, deviceId);
  });

  it('rotates on a 403 key_rotation_required over HTTP, keeping the events it could not send', async () => {
    const server = await backend();
    const { agent, deviceId, stateDir } = await enrolled(server);
    const before = identityOnDisk(stateDir);
    // Learn the grant first, so the event below is collected.
    await agent.heartbeat();
    await server.admin(`/v1/admin/devices/${deviceId}/rotate-keys`, {});
    const tracked = agent.track('activity.app.launched', { app: 'while-forced', pid: 8 });
    // Refused for now (kept, not dropped); the answer starts the rotation.
    const first = await agent.flush();
    expect(first.delivered).toBe(0);
    const id = tracked.status === 'queued' ? tracked.id : '';
    // Kept across the rotation and delivered once the new key signs it.
    await waitFor(async () => {
      await agent.flush();
      return (await server.storedEventIds(deviceId)).includes(id);
    }, 'the kept event to be delivered');
    expect(identityOnDisk(stateDir).keys.signingPublicKey).not.toBe(before.keys.signingPublicKey);
    expect((await serverKeys(server, deviceId)).keyRotationRequired).toBe(false);
    expect(agent.status().drops).toMatchObject({ rejected_by_server: 0 });
  });

  it('finishes at start a rotation whose answer was lost', async () => {
    const server = await backend();
    const { agent, deviceId, stateDir } = await enrolled(server);
    await agent.shutdown({ timeoutMs: 500 });
    // What a crash right after the request leaves: the pending identity on disk, the request
    // applied by the server, identity.json still the old one.
    const enrollment = JSON.parse(readFileSync(join(stateDir, 'enrollment.json'), 'utf8'));
    const oldFile = exportedIdentitySchema.parse(
      JSON.parse(readFileSync(join(stateDir, 'identity.json'), 'utf8')),
    );
    const old = importIdentity(oldFile);
    if (!old.ok) throw new Error('bad identity');
    const next = await generateIdentity();
    await writePrivateFile(
      join(stateDir, 'identity.next.json'),
      JSON.stringify(exportIdentity(next)),
    );
    const applied = await fetch(`${server.url}/v1/keys/rotate`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${enrollment.deviceToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(createKeyRotationRequest(deviceId, old.value, next)),
    });
    expect(applied.status).toBe(200);

    const restarted = await openAgent(stateDir);
    await restarted.start();
    expect(identityOnDisk(stateDir).keys).toEqual(publicKeysOf(next));
    await waitFor(() => restarted.status().realtime.state === 'ready', 'ready with the new key');
    await deliversAnEvent(restarted, server, deviceId);
  });
});
