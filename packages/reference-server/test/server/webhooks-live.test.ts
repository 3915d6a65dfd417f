// The reference server runs the webhook worker in process: an endpoint created over the admin
// API receives a signed notification of a change made over the admin API.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { captureLogger } from '../support/capture-logger.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('webhooks in the reference server', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let server: RunningServer;
  let receiver: Server;
  let receiverUrl: string;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    dir = await makeTempDir();
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString() });
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    server = await startServer({
      port: 0,
      dataDir: dir.path,
      logger: captureLogger('silent').logger,
      allowPrivateWebhookUrls: true,
    });
  });
  afterAll(async () => {
    await server?.stop();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    await dir?.remove();
  });

  const admin = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('delivers policy.published, signed with the secret shown at creation', async () => {
    await server.issueInstallToken('acme');
    const created = await admin('/v1/admin/webhooks', {
      tenant: 'acme',
      url: receiverUrl,
      events: ['policy.published'],
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    const published = await admin('/v1/admin/policies', {
      tenant: 'acme',
      version: 1,
      scopes: ['activity'],
      text: 'We collect app activity.',
    });
    expect(published.status).toBeLessThan(300);
    for (let i = 0; i < 200 && received.length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(received).toHaveLength(1);
    const [delivery] = received;
    const id = String(delivery!.headers['webhook-id']);
    const timestamp = String(delivery!.headers['webhook-timestamp']);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`${id}.${timestamp}.${delivery!.body}`)
      .digest('base64');
    expect(delivery!.headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(JSON.parse(delivery!.body)).toMatchObject({
      type: 'policy.published',
      tenant: 'acme',
      data: { version: 1, scopes: ['activity'] },
    });
  });

  it('refuses a webhook key that is not 32 bytes', async () => {
    const other = await makeTempDir();
    try {
      await expect(
        startServer({
          port: 0,
          dataDir: other.path,
          webhookKey: Buffer.alloc(16).toString('base64'),
          logger: captureLogger('silent').logger,
        }),
      ).rejects.toMatchObject({ code: 'invalid_option' });
    } finally {
      await other.remove();
    }
  });
});
