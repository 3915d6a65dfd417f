// Compiled (never run) by scripts/pack-check.mjs with `strict` and `skipLibCheck: false` in the
// consumer project: the published declarations must hold up under a strict ESM consumer.
import { type Agent, type AgentOptions, createAgent, type FlushResult } from '@fieldline/agent-sdk';
import {
  type Clock,
  createEnvelopeFactory,
  createEventRegistry,
  type EventEnvelope,
} from '@fieldline/core';
import { createFakeClock, type FakeClock } from '@fieldline/core/testing';
import {
  type RunningServer,
  type StartServerOptions,
  startServer,
} from '@fieldline/reference-server';
import { createDatabase, type FieldlineDb, migrateToLatest } from '@fieldline/server-sdk';

const clock: FakeClock = createFakeClock({ nowMs: 0 });
const asClock: Clock = clock;
const registry = createEventRegistry();
const checked = registry.validateData('activity.system.active', { idleForMs: 1 });
if (checked.ok) {
  const event: EventEnvelope = createEnvelopeFactory({ clock: asClock }).create(
    'activity.system.active',
    'activity',
    checked.value,
  );
  const idle: string = event.id;
  void idle;
}

export async function useServer(options: StartServerOptions): Promise<number> {
  const server: RunningServer = await startServer(options);
  const database: FieldlineDb = await createDatabase({});
  await migrateToLatest(database.db);
  const rows = await database.db.selectFrom('devices').select('id').execute();
  await database.close();
  await server.stop();
  return rows.length + server.port;
}

export async function useAgent(options: AgentOptions): Promise<number> {
  const agent: Agent = await createAgent(options);
  const result: FlushResult = await agent.flush();
  return result.delivered;
}
