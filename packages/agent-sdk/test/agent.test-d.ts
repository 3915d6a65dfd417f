// Type tests (vitest typecheck): never run, only compiled.
import {
  type BuiltInEventMap,
  createEventRegistry,
  defineEventType,
  type EventRegistry,
  type EventRegistryOptions,
  type EventTypeMap,
} from '@fieldline/core';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Agent, createAgent } from '../src/agent.js';
import type { TrackResult } from '../src/agent-types.js';

const backupFinished = defineEventType({
  type: 'backup.finished',
  scope: 'operational',
  description: 'A backup run ended.',
  data: z.object({ bytes: z.number().int(), target: z.string().optional() }),
});

describe('Agent.track types', () => {
  it('types the built-in event types without a registry option', async () => {
    const agent = await createAgent({ stateDir: '/tmp/agent' });
    expectTypeOf(agent).toEqualTypeOf<Agent<BuiltInEventMap>>();
    expectTypeOf(agent).toEqualTypeOf<Agent>();
    expectTypeOf(
      agent.track('activity.app.launched', { app: 'calc' }),
    ).toEqualTypeOf<TrackResult>();
    agent.track('activity.app.launched', { app: 'calc', pid: 42 });
    agent.track('activity.system.active', { idleForMs: 5000 }, Date.now());
    // @ts-expect-error: app is a string
    agent.track('activity.app.launched', { app: 1 });
    // @ts-expect-error: app is required
    agent.track('activity.app.launched', { pid: 42 });
    // @ts-expect-error: unknown keys are rejected, as the strict schema does at run time
    agent.track('activity.app.launched', { app: 'calc', window: 'title' });
    // @ts-expect-error: not a registered event type
    agent.track('no.such.type', {});
    // @ts-expect-error: a registered name, but another type's data
    agent.track('device.heartbeat', { idleForMs: 5000 });
  });

  it('types integrator event types added to the registry, beside the built-ins', async () => {
    const registry = createEventRegistry().register(backupFinished);
    const agent = await createAgent({ stateDir: '/tmp/agent', registry });
    agent.track('backup.finished', { bytes: 1024 });
    agent.track('backup.finished', { bytes: 1024, target: 'nas' });
    agent.track('activity.system.idle', { idleThresholdMs: 60_000 });
    // @ts-expect-error: bytes is a number
    agent.track('backup.finished', { bytes: '1 KiB' });
    // @ts-expect-error: not registered here
    agent.track('backup.started', { bytes: 0 });
  });

  it('knows only the integrator types of a registry without built-ins', async () => {
    const registry = createEventRegistry({ builtIns: false }).register(backupFinished);
    const agent = await createAgent({ stateDir: '/tmp/agent', registry });
    agent.track('backup.finished', { bytes: 1 });
    // @ts-expect-error: the built-ins are not registered
    agent.track('activity.system.idle', { idleThresholdMs: 1 });
  });

  it('stays loose with a registry whose types are not known statically', async () => {
    // Options only known at run time pick createEventRegistry's loosely typed overload.
    const options: EventRegistryOptions = { builtIns: process.env.BUILT_INS !== 'no' };
    const registry = createEventRegistry(options);
    expectTypeOf(registry).toEqualTypeOf<EventRegistry<EventTypeMap>>();
    const agent = await createAgent({ stateDir: '/tmp/agent', registry });
    expectTypeOf(agent).toEqualTypeOf<Agent<EventTypeMap>>();
    agent.track('anything.at.all', { any: 'data' });
  });

  it('tracks names and data known only at run time with trackUntyped', async () => {
    const agent = await createAgent({ stateDir: '/tmp/agent' });
    const type: string = process.argv[2] ?? '';
    const data: unknown = JSON.parse(process.argv[3] ?? '{}');
    expectTypeOf(agent.trackUntyped(type, data)).toEqualTypeOf<TrackResult>();
    agent.trackUntyped(type, data, Date.now());
    // @ts-expect-error: track() wants a registered name, not any string
    agent.track(type, {});
    // @ts-expect-error: nor data of unknown shape
    agent.track('activity.app.launched', data);
  });

  it('lets an agent with more event types stand in for a plain Agent', async () => {
    const agent = await createAgent({
      stateDir: '/tmp/agent',
      registry: createEventRegistry().register(backupFinished),
    });
    const takesAgent = (_agent: Agent): void => undefined;
    takesAgent(agent);
  });
});
