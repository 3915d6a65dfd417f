// Two holders of one device's keys, over real sockets: each reconnects as soon as the other
// displaces it (4000). After the configured number of live takeovers the gateway quarantines
// the device (4423 for both, `device_quarantined` on HTTP), audits `device.clone_suspected`,
// announces it on the admin stream and shows it in the device's detail; an admin releases it.

import { createHelloFrame, type RealtimeFrame } from '@fieldline/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUS_TOPICS } from '../../src/cluster/cluster-bus.js';
import { type GatewayServer, startGatewayServer } from '../support/gateway-server.js';
import { describeEachDatabase } from '../support/test-databases.js';
import { call, OPERATOR_TOKEN } from '../support/test-server.js';
import {
  challengeOf,
  type EnrolledDevice,
  enrollDevice,
  openSocket,
} from '../support/ws-device.js';

/** One holder of the keys: says hello, and says it again whenever it is displaced. */
async function runClone(url: string, device: EnrolledDevice, maxRounds: number) {
  const closes: number[] = [];
  for (let round = 0; round < maxRounds; round += 1) {
    const client = await openSocket(url);
    client.sendFrame(createHelloFrame(device.deviceId, device.identity, await challengeOf(client)));
    const { code } = await client.closed;
    closes.push(code);
    if (code !== 4000) break;
  }
  return closes;
}

describeEachDatabase('clone detection', (current) => {
  let server: GatewayServer;
  const adminEvents: unknown[] = [];

  beforeAll(async () => {
    server = await startGatewayServer(current().db, { standing: { cloneTakeovers: 4 } });
    server.app.context.bus.subscribe(BUS_TOPICS.adminEvents, (payload) =>
      adminEvents.push(payload),
    );
  });
  afterAll(async () => {
    expect(server.errors).toEqual([]);
    await server.close();
  });

  it('quarantines a device whose two holders keep displacing each other, and reports it', async () => {
    const device = await enrollDevice(server.url);
    const [first, second] = await Promise.all([
      runClone(server.url, device, 50),
      runClone(server.url, device, 50),
    ]);
    // Both stop at the quarantine instead of flip-flopping on.
    expect(first.at(-1)).toBe(4423);
    expect(second.at(-1)).toBe(4423);
    expect(first.length + second.length).toBeLessThan(20);

    const detail = await call(`${server.url}/v1/admin/devices/${device.deviceId}`, {
      token: OPERATOR_TOKEN,
    });
    expect(detail.body.status).toBe('active');
    expect(detail.body.quarantinedAt).not.toBeNull();
    expect(detail.body.cloneSuspectedAt).toBe(detail.body.quarantinedAt);

    const audit = await call(`${server.url}/v1/admin/audit?limit=1000`, { token: OPERATOR_TOKEN });
    const suspected = (
      audit.body.entries as Array<{ action: string; subject: string; details: unknown }>
    ).filter(
      (entry) =>
        entry.action === 'device.clone_suspected' && entry.subject === `device:${device.deviceId}`,
    );
    expect(suspected).toHaveLength(1);
    expect(suspected[0]?.details).toMatchObject({ quarantined: true });
    expect(suspected[0]?.details).toHaveProperty('takeovers', expect.any(Number));
    expect(adminEvents).toContainEqual({
      event: 'device',
      data: expect.objectContaining({ deviceId: device.deviceId, change: 'clone_suspected' }),
    });

    // Every path refuses it until an admin acts.
    const config = await call(`${server.url}/v1/config`, { token: device.deviceToken });
    expect(config.status).toBe(403);
    expect(config.body.error.code).toBe('device_quarantined');
    const refused = await openSocket(server.url);
    refused.sendFrame(
      createHelloFrame(device.deviceId, device.identity, await challengeOf(refused)),
    );
    expect(await refused.closed).toEqual({ code: 4423, reason: 'device_quarantined' });

    const released = await call(`${server.url}/v1/admin/devices/${device.deviceId}/release`, {
      token: OPERATOR_TOKEN,
      method: 'POST',
    });
    expect(released.body).toMatchObject({ quarantinedAt: null, changed: true });
    const back = await openSocket(server.url);
    back.sendFrame(createHelloFrame(device.deviceId, device.identity, await challengeOf(back)));
    await back.next((frame: RealtimeFrame) => frame.kind === 'welcome');
    await back.close();
  });

  it('does not suspect a device that reconnects now and then', async () => {
    const device = await enrollDevice(server.url);
    for (let round = 0; round < 3; round += 1) {
      const client = await openSocket(server.url);
      client.sendFrame(
        createHelloFrame(device.deviceId, device.identity, await challengeOf(client)),
      );
      await client.next((frame: RealtimeFrame) => frame.kind === 'welcome');
      await client.close();
    }
    const detail = await call(`${server.url}/v1/admin/devices/${device.deviceId}`, {
      token: OPERATOR_TOKEN,
    });
    expect(detail.body).toMatchObject({ quarantinedAt: null, cloneSuspectedAt: null });
  });
});
