// Shared pieces of the command outbox suites: devices inserted straight into
// the database (hundreds in milliseconds, no enrollment round trips) and a bus
// recorder.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { BUS_TOPICS, type BusTopic, type ClusterBus } from '../../src/cluster/cluster-bus.js';
import type { FieldlineDatabase } from '../../src/db/database-schema.js';

// Any 32-byte base64url text: these devices never seal or sign anything.
const FAKE_KEY = 'A'.repeat(43);

/** Inserts `count` active devices of `tenant` (creating the tenant) and returns their ids, sorted. */
export async function insertDevices(
  db: Kysely<FieldlineDatabase>,
  tenant: string,
  count: number,
): Promise<string[]> {
  await db
    .insertInto('tenants')
    .values({ id: tenant })
    .onConflict((oc) => oc.doNothing())
    .execute();
  const ids = Array.from(
    { length: count },
    () => `dev_${tenant}_${randomBytes(8).toString('base64url')}`,
  );
  for (let start = 0; start < ids.length; start += 500) {
    await db
      .insertInto('devices')
      .values(
        ids.slice(start, start + 500).map((id) => ({
          id,
          tenant_id: tenant,
          hostname: 'fixture',
          os: 'linux',
          arch: 'x64',
          agent_version: null,
          signing_public_key: FAKE_KEY,
          encryption_public_key: FAKE_KEY,
          drops: '{}',
        })),
      )
      .execute();
  }
  return ids.sort();
}

/** Marks a device revoked. */
export async function revokeDevice(db: Kysely<FieldlineDatabase>, deviceId: string): Promise<void> {
  await db.updateTable('devices').set({ status: 'revoked' }).where('id', '=', deviceId).execute();
}

/** Records every message of some topics of a bus, until `stop()`. */
export interface BusRecorder {
  readonly messages: Array<{ topic: BusTopic; payload: unknown }>;
  /** The payloads of one topic, in order. */
  of(topic: BusTopic): unknown[];
  /** Waits until queued deliveries (the memory bus's microtasks) have run. */
  settle(): Promise<void>;
  stop(): void;
}

/** Starts recording `topics` of `bus`. */
export function recordBus(bus: ClusterBus, topics: readonly BusTopic[]): BusRecorder {
  const messages: Array<{ topic: BusTopic; payload: unknown }> = [];
  const stops = topics.map((topic) =>
    bus.subscribe(topic, (payload) => messages.push({ topic, payload })),
  );
  return {
    messages,
    // Admin events may travel packed ({ events: [...] }); tests see them one by one.
    of: (topic) =>
      messages
        .filter((m) => m.topic === topic)
        .flatMap((m) =>
          topic === BUS_TOPICS.adminEvents &&
          typeof m.payload === 'object' &&
          m.payload !== null &&
          'events' in m.payload
            ? (m.payload as { events: unknown[] }).events
            : [m.payload],
        ),
    settle: () => new Promise((resolve) => setTimeout(resolve, 0)),
    stop: () => {
      for (const stop of stops) stop();
    },
  };
}
