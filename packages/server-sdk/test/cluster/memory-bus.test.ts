import { isInvalidArgumentError } from '@fieldline/core';
import { describe, expect, it } from 'vitest';
import { MAX_BUS_PAYLOAD_BYTES } from '../../src/cluster/bus-payload.js';
import { BUS_TOPICS } from '../../src/cluster/cluster-bus.js';
import { createMemoryBus } from '../../src/cluster/memory-bus.js';

describe('createMemoryBus', () => {
  it('delivers a detached copy to every subscriber, asynchronously, in order', async () => {
    const bus = createMemoryBus();
    const seen: unknown[] = [];
    bus.subscribe(BUS_TOPICS.commands, (payload) => seen.push(payload));
    const sent = { deviceId: 'dev_1' };
    const publishing = bus.publish(BUS_TOPICS.commands, sent);
    expect(seen).toEqual([]);
    await publishing;
    await bus.publish(BUS_TOPICS.commands, { deviceId: 'dev_2' });
    expect(seen).toEqual([{ deviceId: 'dev_1' }, { deviceId: 'dev_2' }]);
    expect(seen[0]).not.toBe(sent);
    await bus.close();
  });

  it('keeps topics apart and stops delivering after unsubscribe', async () => {
    const bus = createMemoryBus();
    const commands: unknown[] = [];
    const sessions: unknown[] = [];
    const stop = bus.subscribe(BUS_TOPICS.commands, (payload) => commands.push(payload));
    bus.subscribe(BUS_TOPICS.sessions, (payload) => sessions.push(payload));
    await bus.publish(BUS_TOPICS.sessions, { deviceId: 'a', instanceId: 'i' });
    stop();
    await bus.publish(BUS_TOPICS.commands, { deviceId: 'a' });
    expect(commands).toEqual([]);
    expect(sessions).toEqual([{ deviceId: 'a', instanceId: 'i' }]);
    await bus.close();
  });

  it('refuses a payload over the PostgreSQL limit with invalid_argument', async () => {
    const bus = createMemoryBus();
    const seen: unknown[] = [];
    bus.subscribe(BUS_TOPICS.adminEvents, (payload) => seen.push(payload));
    const error = await bus
      .publish(BUS_TOPICS.adminEvents, { blob: 'x'.repeat(MAX_BUS_PAYLOAD_BYTES) })
      .catch((caught: unknown) => caught);
    expect(isInvalidArgumentError(error)).toBe(true);
    expect((error as Error).message).toMatch(/at most 7000/);
    expect(seen).toEqual([]);
    await bus.close();
  });
});
