// Runs inside the throwaway consumer project that scripts/pack-check.mjs installs the packed
// tarballs into: every import below resolves to node_modules, never to the workspace.
// It drives each package through its ESM entry, ending with an agent that enrolls with a
// reference server and delivers events, so a broken bundle or a missing runtime dependency
// fails here rather than for the first user.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '@fieldline/agent-sdk';
import { canCollect, createEnvelopeFactory, createEventRegistry } from '@fieldline/core';
import { createFakeClock } from '@fieldline/core/testing';
import { createLogger, startServer } from '@fieldline/reference-server';

const ADMIN_TOKEN = 'fl_admin_pack_check_token_0123456789abcdef';

// core: the registry checks data strictly, the factory stamps an envelope, consent gates it.
const registry = createEventRegistry();
const data = registry.validateData('activity.system.active', { idleForMs: 5000 });
assert.equal(data.ok, true);
assert.equal(registry.validateData('activity.system.active', { idleForMs: 'soon' }).ok, false);
const clock = createFakeClock({ nowMs: Date.UTC(2026, 0, 1) });
const event = createEnvelopeFactory({ clock }).create('activity.system.active', 'activity', {
  idleForMs: 5000,
});
assert.equal(event.occurredAt, '2026-01-01T00:00:00.000Z');
assert.equal(canCollect({ status: 'pending', policyVersion: 1 }, event.scope, clock.now()), false);
console.log('esm: @fieldline/core and @fieldline/core/testing ok');

// reference-server (on server-sdk, embedded PGlite on disk, migrations run at start) and
// agent-sdk: enroll, grant, track, flush, and find the events stored.
const dataDir = mkdtempSync(join(tmpdir(), 'fl-pack-server-'));
const stateDir = mkdtempSync(join(tmpdir(), 'fl-pack-agent-'));
const server = await startServer({
  port: 0,
  host: '127.0.0.1',
  dataDir,
  adminToken: ADMIN_TOKEN,
  logger: createLogger({ level: 'silent' }),
});
try {
  const admin = async (path, body) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(response.ok, `${path}: HTTP ${response.status} ${await response.clone().text()}`);
    return response.json();
  };
  await admin('/v1/admin/policies', {
    tenant: 'acme',
    version: 1,
    scopes: ['activity'],
    text: 'Pack check policy.',
  });
  const { token } = await server.issueInstallToken('acme');
  const agent = await createAgent({ stateDir });
  try {
    const { deviceId } = await agent.enroll({ serverUrl: server.url, installToken: token });
    await admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });
    await agent.start();
    assert.equal(agent.status().consent.status, 'granted');
    for (let i = 0; i < 3; i++) {
      const tracked = agent.track('activity.system.active', { idleForMs: i });
      assert.equal(tracked.status, 'queued');
    }
    const flushed = await agent.flush();
    assert.equal(flushed.delivered, 3);
    const stored = await server.app.context.db
      .selectFrom('events')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('type', '=', 'activity.system.active')
      .execute();
    assert.equal(stored.length, 3);
  } finally {
    await agent.shutdown({ timeoutMs: 1_000 });
  }
  console.log('esm: reference-server, server-sdk and agent-sdk ok (3 events delivered)');
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
}
