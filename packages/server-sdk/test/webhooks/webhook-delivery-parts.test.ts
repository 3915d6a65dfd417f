import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isInvalidArgumentError } from '@fieldline/core';
import { createSeededRandom } from '@fieldline/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook } from '../../src/webhooks/post-webhook.js';
import { resolveRetrySchedule, retryDelayMs } from '../../src/webhooks/retry-schedule.js';
import { createWebhookSecretBox } from '../../src/webhooks/secret-box.js';
import { isPrivateAddress } from '../../src/webhooks/webhook-address-guard.js';

describe('private address guard', () => {
  it('blocks loopback, private, link-local, CGNAT and mapped forms; lets public ones through', () => {
    for (const address of [
      '127.0.0.1',
      '10.2.3.4',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });
});

describe('webhook secret box', () => {
  it('opens what it sealed, for the same endpoint and key only', () => {
    const box = createWebhookSecretBox(new Uint8Array(32).fill(1));
    const stored = box.seal('wh_1', 'whsec_c2VjcmV0');
    expect(stored).not.toContain('c2VjcmV0');
    expect(box.open('wh_1', stored)).toBe('whsec_c2VjcmV0');
    expect(() => box.open('wh_2', stored)).toThrow(/does not open/);
    const otherKey = createWebhookSecretBox(new Uint8Array(32).fill(2));
    expect(() => otherKey.open('wh_1', stored)).toThrow(/does not open/);
  });

  it('refuses a key that is not 32 bytes', () => {
    try {
      createWebhookSecretBox(new Uint8Array(16));
      expect.unreachable();
    } catch (error) {
      expect(isInvalidArgumentError(error)).toBe(true);
    }
  });
});

describe('retry schedule', () => {
  it('spreads 8 attempts over about a day, with jitter within ±25 %', () => {
    const schedule = resolveRetrySchedule();
    const random = createSeededRandom(42);
    let totalMs = 0;
    for (let attempt = 1; attempt < schedule.maxAttempts; attempt += 1) {
      const delay = retryDelayMs(attempt, schedule, random);
      const nominal = Math.min(schedule.maxDelayMs, 30_000 * 4 ** (attempt - 1));
      expect(delay).toBeGreaterThanOrEqual(nominal * 0.75);
      expect(delay).toBeLessThanOrEqual(nominal * 1.25);
      totalMs += delay;
    }
    expect(totalMs).toBeGreaterThan(17 * 3_600_000);
    expect(totalMs).toBeLessThan(30 * 3_600_000);
  });

  it('rejects a schedule that is not positive', () => {
    expect(() => resolveRetrySchedule({ maxAttempts: 0 })).toThrow(/maxAttempts/);
  });
});

describe('postWebhook', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      server === undefined ? resolve() : server.close(() => resolve()),
    );
    server = undefined;
  });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return (server!.address() as AddressInfo).port;
  }

  it('does not follow redirects: a 302 is a failure', async () => {
    let hits = 0;
    const port = await listen((_request, response) => {
      hits += 1;
      response.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    });
    const result = await postWebhook(`http://127.0.0.1:${port}/`, {}, '{}', {
      timeoutMs: 2000,
      allowPrivate: true,
    });
    expect(result).toMatchObject({ statusCode: 302, error: 'http_302' });
    expect(hits).toBe(1);
  });

  it('gives up after the timeout', async () => {
    const port = await listen(() => {
      // Never answers.
    });
    const result = await postWebhook(`http://127.0.0.1:${port}/`, {}, '{}', {
      timeoutMs: 200,
      allowPrivate: true,
    });
    expect(result).toMatchObject({ statusCode: null, error: 'timeout' });
  });

  it('refuses a loopback address, literal or resolved by name, unless allowed', async () => {
    let hits = 0;
    const port = await listen((_request, response) => {
      hits += 1;
      response.end();
    });
    const options = { timeoutMs: 2000, allowPrivate: false };
    expect(await postWebhook(`http://127.0.0.1:${port}/`, {}, '{}', options)).toMatchObject({
      statusCode: null,
      error: 'blocked_address',
    });
    expect(await postWebhook(`http://localhost:${port}/`, {}, '{}', options)).toMatchObject({
      statusCode: null,
      error: 'blocked_address',
    });
    expect(hits).toBe(0);
    expect(
      await postWebhook(`http://localhost:${port}/`, {}, '{}', { ...options, allowPrivate: true }),
    ).toMatchObject({ statusCode: 200, error: null });
  });
});
