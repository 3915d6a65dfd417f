// Compiled (never run) by scripts/pack-check.mjs: the `require` conditions' declarations
// (.d.cts) under a strict CommonJS consumer.
import agentSdk = require('@fieldline/agent-sdk');
import core = require('@fieldline/core');
import testing = require('@fieldline/core/testing');
import referenceServer = require('@fieldline/reference-server');
import serverSdk = require('@fieldline/server-sdk');

const clock: core.Clock = testing.createFakeClock({ nowMs: 0 });
const valid: boolean = core
  .createEventRegistry()
  .validateData('activity.system.active', { idleForMs: clock.now() }).ok;

export async function useAll(stateDir: string): Promise<boolean> {
  const agent: agentSdk.Agent = await agentSdk.createAgent({ stateDir });
  const database: serverSdk.FieldlineDb = await serverSdk.createDatabase({});
  const server: referenceServer.RunningServer = await referenceServer.startServer({ port: 0 });
  await Promise.all([agent.shutdown(), database.close(), server.stop()]);
  return valid;
}
