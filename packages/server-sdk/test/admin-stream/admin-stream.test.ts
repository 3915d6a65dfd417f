import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AdminStreamEvent } from '../../src/admin-stream/admin-event-hub.js';
import { BUS_TOPICS } from '../../src/cluster/cluster-bus.js';
import { toFetchHandler } from '../../src/http/fetch-adapter.js';
import { openSse } from '../support/sse-client.js';
import { describeEachDatabase } from '../support/test-databases.js';
import {
  ACME_ADMIN_TOKEN,
  call,
  GLOBEX_ADMIN_TOKEN,
  OPERATOR_TOKEN,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

function consentEvent(tenantId: string, deviceId: string): AdminStreamEvent {
  return {
    event: 'consent',
    data: {
      deviceId,
      tenantId,
      consent: { status: 'withdrawn', policyVersion: 1, withdrawnAt: '2025-01-02T03:04:05.000Z' },
      at: '2025-01-02T03:04:05.000Z',
    },
  };
}

function presenceEvent(tenantId: string, deviceId: string, online = true): AdminStreamEvent {
  return { event: 'presence', data: { deviceId, tenantId, online, at: new Date().toISOString() } };
}

describeEachDatabase('GET /v1/admin/stream', (current) => {
  let server: TestServer;
  const streamUrl = () => `${server.url}/v1/admin/stream`;
  const hub = () => server.app.context.adminEvents;

  beforeAll(async () => {
    server = await startTestServer(current().db, { adminStream: { keepAliveIntervalMs: 100 } });
  });
  afterAll(async () => {
    hub().close();
    await server.close();
  });

  it('opens with headers and a comment, then relays bus events within 1 s', async () => {
    const stream = await openSse(streamUrl(), OPERATOR_TOKEN);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.headers['cache-control']).toBe('no-cache');
      expect(stream.headers['x-accel-buffering']).toBe('no');
      expect(stream.headers['content-length']).toBeUndefined();
      await stream.waitFor(/^: connected\n/);
      const started = Date.now();
      await server.app.context.bus.publish(BUS_TOPICS.adminEvents, consentEvent('acme', 'dev_1'));
      await stream.waitFor(/event: consent\n/);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(stream.text()).toContain(
        `event: consent\ndata: ${JSON.stringify(consentEvent('acme', 'dev_1').data)}\n\n`,
      );
    } finally {
      stream.close();
    }
  });

  it('gives a tenant admin its own tenant only, and the operator every tenant', async () => {
    const acme = await openSse(streamUrl(), ACME_ADMIN_TOKEN);
    const globex = await openSse(streamUrl(), GLOBEX_ADMIN_TOKEN);
    const operator = await openSse(streamUrl(), OPERATOR_TOKEN);
    try {
      await Promise.all([acme, globex, operator].map((s) => s.waitFor(/: connected/)));
      await hub().publish(presenceEvent('globex', 'dev_g'));
      await hub().publish(presenceEvent('acme', 'dev_a'));
      await operator.waitFor(/dev_g[\s\S]*dev_a/);
      await acme.waitFor(/dev_a/);
      await globex.waitFor(/dev_g/);
      expect(acme.events().map((e) => (e.data as { deviceId: string }).deviceId)).toEqual([
        'dev_a',
      ]);
      expect(globex.events().map((e) => (e.data as { deviceId: string }).deviceId)).toEqual([
        'dev_g',
      ]);
      expect(operator.events().map((e) => e.event)).toEqual(['presence', 'presence']);
    } finally {
      for (const stream of [acme, globex, operator]) stream.close();
    }
  });

  it('answers 401 JSON without a valid admin token, and subscribes nothing', async () => {
    const missing = await call(streamUrl());
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(missing.body.error.code).toBe('unauthenticated');
    const wrong = await call(streamUrl(), { token: 'fl_admin_not_a_real_token_0123456789' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_token');
    expect(hub().subscriberCount()).toBe(0);
  });

  it('removes the subscriber when the client disconnects', async () => {
    await expect.poll(() => hub().subscriberCount()).toBe(0);
    const streams = await Promise.all([
      openSse(streamUrl(), OPERATOR_TOKEN),
      openSse(streamUrl(), ACME_ADMIN_TOKEN),
    ]);
    await Promise.all(streams.map((s) => s.waitFor(/: connected/)));
    expect(hub().subscriberCount()).toBe(2);
    streams[0]?.close();
    await expect.poll(() => hub().subscriberCount(), { timeout: 1000 }).toBe(1);
    streams[1]?.close();
    await expect.poll(() => hub().subscriberCount(), { timeout: 1000 }).toBe(0);
  });

  it('sends a keep-alive comment at the configured interval', async () => {
    const stream = await openSse(streamUrl(), ACME_ADMIN_TOKEN);
    try {
      await stream.waitFor(/: connected\n\n: keep-alive\n\n: keep-alive\n\n/, 2000);
    } finally {
      stream.close();
    }
  });

  it('drops and counts bus messages that are not admin events', async () => {
    const stream = await openSse(streamUrl(), OPERATOR_TOKEN);
    try {
      await stream.waitFor(/: connected/);
      const before = hub().invalidCount();
      const { bus } = server.app.context;
      await bus.publish(BUS_TOPICS.adminEvents, {
        event: 'reboot',
        data: { deviceId: 'x', tenantId: 'acme' },
      });
      await bus.publish(BUS_TOPICS.adminEvents, { event: 'presence', data: { deviceId: 'x' } });
      await bus.publish(BUS_TOPICS.adminEvents, 'not an object');
      await hub().publish(presenceEvent('acme', 'dev_valid'));
      await stream.waitFor(/dev_valid/);
      expect(hub().invalidCount()).toBe(before + 3);
      expect(stream.events()).toHaveLength(1);
    } finally {
      stream.close();
    }
  });

  it('cuts a client that stops reading once 1 MiB is buffered', async () => {
    await expect.poll(() => hub().subscriberCount()).toBe(0);
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /v1/admin/stream HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${OPERATOR_TOKEN}\r\n\r\n`,
    );
    const closed = new Promise<void>((resolve) => socket.once('close', resolve));
    socket.once('data', () => socket.pause());
    await expect.poll(() => hub().subscriberCount()).toBe(1);
    const filler = 'x'.repeat(6000);
    let sent = 0;
    // Kernel buffers take a few MiB first; 40 MiB is far more than they can hold.
    while (hub().subscriberCount() > 0 && sent < 7000) {
      // Extra fields pass through the hub, which makes big events easy to build.
      await server.app.context.bus.publish(BUS_TOPICS.adminEvents, {
        event: 'presence',
        data: { deviceId: `dev_${sent}`, tenantId: 'acme', online: true, at: 'now', filler },
      });
      sent += 1;
    }
    expect(hub().subscriberCount()).toBe(0);
    // Not cut early: well over half a MiB went out first.
    expect(sent).toBeGreaterThan(100);
    socket.resume();
    await closed;
  });

  it('streams through the fetch adapter too, and cancelling unsubscribes', async () => {
    const handle = toFetchHandler(server.app);
    const response = await handle(
      new Request('http://local/v1/admin/stream', {
        headers: { authorization: `Bearer ${ACME_ADMIN_TOKEN}` },
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(text).toBe(': connected\n\n');
    expect(hub().subscriberCount()).toBe(1);
    await hub().publish(consentEvent('acme', 'dev_fetch'));
    text = decoder.decode((await reader.read()).value);
    expect(text).toMatch(/^event: consent\ndata: .*dev_fetch/);
    await reader.cancel();
    expect(hub().subscriberCount()).toBe(0);
  });
});
