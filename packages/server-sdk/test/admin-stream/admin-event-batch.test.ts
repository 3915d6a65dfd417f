// Admin events travel packed: many events per bus message, each message under the bus limit,
// and the hub hands them to subscribers one by one, in order, dropping invalid ones.
import { expect, it } from 'vitest';
import {
  type AdminStreamEvent,
  createAdminEventHub,
  packAdminEvents,
  publishAdminEvents,
} from '../../src/admin-stream/admin-event-hub.js';
import { MAX_BUS_PAYLOAD_BYTES } from '../../src/cluster/bus-payload.js';
import { BUS_TOPICS } from '../../src/cluster/cluster-bus.js';
import { createMemoryBus } from '../../src/cluster/memory-bus.js';

const commandEvent = (index: number, tenantId = 'acme'): AdminStreamEvent => ({
  event: 'command',
  data: {
    id: `cmd_${index}`,
    deviceId: `dev_${index}`,
    tenantId,
    type: 'ping',
    status: 'sent',
    at: '2026-11-22T03:00:00.000Z',
  },
});

it('packs 5,000 events into few messages, each under the bus limit, in order', () => {
  const events = Array.from({ length: 5_000 }, (_, index) => commandEvent(index));
  const payloads = packAdminEvents(events);
  expect(payloads.length).toBeGreaterThan(1);
  expect(payloads.length).toBeLessThan(200);
  for (const payload of payloads) {
    expect(new TextEncoder().encode(JSON.stringify(payload)).byteLength).toBeLessThanOrEqual(
      MAX_BUS_PAYLOAD_BYTES,
    );
  }
  const unpacked = payloads.flatMap((payload) =>
    'events' in (payload as object)
      ? (payload as { events: AdminStreamEvent[] }).events
      : [payload],
  );
  expect(unpacked).toEqual(events);
  expect(packAdminEvents([commandEvent(1)])).toEqual([commandEvent(1)]);
  expect(packAdminEvents([])).toEqual([]);
});

it('delivers packed events one by one to the right tenants and drops invalid members', async () => {
  const bus = createMemoryBus();
  const hub = createAdminEventHub(bus);
  const acme: AdminStreamEvent[] = [];
  const everyone: AdminStreamEvent[] = [];
  hub.subscribe({ tenant: 'acme' }, (event) => acme.push(event));
  hub.subscribe({ tenant: null }, (event) => everyone.push(event));
  const events = Array.from({ length: 300 }, (_, index) =>
    commandEvent(index, index % 2 === 0 ? 'acme' : 'globex'),
  );
  await publishAdminEvents(bus, events, (error) => {
    throw error;
  });
  expect(everyone).toEqual(events);
  expect(acme).toEqual(events.filter((event) => event.data.tenantId === 'acme'));

  await bus.publish(BUS_TOPICS.adminEvents, { events: [commandEvent(1), { event: 'nonsense' }] });
  expect(everyone.at(-1)).toEqual(commandEvent(1));
  expect(hub.invalidCount()).toBe(1);
  hub.close();
});
