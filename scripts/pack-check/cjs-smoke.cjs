// The CommonJS entries of the packed tarballs, loaded with require() in the consumer project
// scripts/pack-check.mjs builds: each must load on its own and work, not only type-check.
const assert = require('node:assert/strict');
const core = require('@fieldline/core');
const testing = require('@fieldline/core/testing');
const agentSdk = require('@fieldline/agent-sdk');
const serverSdk = require('@fieldline/server-sdk');
const referenceServer = require('@fieldline/reference-server');

async function main() {
  const registry = core.createEventRegistry();
  assert.equal(registry.validateData('activity.system.active', { idleForMs: 1 }).ok, true);
  assert.equal(registry.validateData('activity.system.active', {}).ok, false);
  const clock = testing.createFakeClock({ nowMs: 1_000 });
  clock.advance(500);
  assert.equal(clock.now(), 1_500);
  assert.equal(typeof agentSdk.createAgent, 'function');
  assert.equal(typeof referenceServer.startServer, 'function');
  assert.equal(typeof referenceServer.createLogger({ level: 'silent' }).info, 'function');

  const memory = await serverSdk.createDatabase({});
  const migrated = await serverSdk.migrateToLatest(memory.db);
  assert.ok((migrated.results ?? []).length > 0, 'migrations ran');
  await memory.close();
  console.log(
    `cjs: all four packages load with require(); ${migrated.results.length} migrations on in-memory PGlite`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
