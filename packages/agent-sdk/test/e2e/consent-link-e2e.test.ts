// The employee's consent page flow against the real reference server on real sockets and files:
// the running agent signs a link, the page exchanges it for its cookie, and a grant and a
// withdrawal made there reach the running agent over its socket, as one made through the admin
// API does: no flush or heartbeat in between.
import { rmSync } from 'node:fs';
import {
  consentLinkSessionResponseSchema,
  consentPageChangeResponseSchema,
  consentPageResponseSchema,
  errorBodySchema,
} from '@fieldline/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAgent } from '../../src/agent.js';
import { isAgentError } from '../../src/agent-errors.js';
import type { Collector } from '../../src/collector.js';
import { startBackend, type TestBackend, tempStateDir } from './support.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 2, maxElapsedMs: 2_000 };
const FAST_REALTIME = { backoff: { baseMs: 20, capMs: 200 } };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000) {
  return vi.waitUntil(probe, { timeout: timeoutMs, interval: 20 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

/** A JSON request with the page's cookie and CSRF token, as its script would send it. */
async function page(
  server: TestBackend,
  path: string,
  session: { cookie?: string; csrf?: string },
  body?: unknown,
): Promise<{ status: number; setCookie: string | null; body: unknown }> {
  const response = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(session.cookie === undefined ? {} : { cookie: session.cookie }),
      ...(session.csrf === undefined ? {} : { 'x-fieldline-csrf': session.csrf }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    setCookie: response.headers.get('set-cookie'),
    body: await response.json(),
  };
}

describe('consent page end to end', () => {
  it('a withdrawal on the page stops the running agent as fast as the admin API does', async () => {
    const server = await startBackend();
    cleanups.push(() => server.stop());
    await server.admin('/v1/admin/policies', {
      tenant: 'acme',
      version: 1,
      scopes: ['activity', 'network'],
      text: 'We record application time and network volume.',
      purposes: {
        activity: { purpose: 'Time per application', retentionDays: 30 },
        network: { purpose: 'Network volume per day' },
      },
    });
    let running = false;
    const collector: Collector = {
      name: 'app-activity',
      scope: 'activity',
      support: () => ({ supported: true }),
      start() {
        running = true;
      },
      stop() {
        running = false;
      },
    };
    const stateDir = tempStateDir();
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const agent = await createAgent({
      stateDir,
      retry: FAST_RETRY,
      realtime: FAST_REALTIME,
      collectors: [collector],
    });
    cleanups.push(() => agent.shutdown({ timeoutMs: 500 }).then(() => undefined));
    expect(() => agent.createConsentLink()).toThrow(
      expect.objectContaining({ code: 'not_enrolled' }),
    );
    const { deviceId } = await agent.enroll({
      serverUrl: server.url,
      installToken: await server.installToken(),
    });
    await agent.start();
    await waitFor(() => agent.status().realtime.state === 'ready', 'the socket');
    expect(running).toBe(false);

    const link = agent.createConsentLink();
    expect(link.url.startsWith(`${server.url}/console/consent#t=`)).toBe(true);
    expect(link.deviceId).toBe(deviceId);
    const token = new URL(link.url).hash.slice('#t='.length);
    expect(token).toBe(link.token);
    const opened = await page(server, '/v1/consent-link/session', {}, { token });
    expect(opened.status).toBe(200);
    const session = {
      cookie: (opened.setCookie ?? '').split(';')[0] as string,
      csrf: consentLinkSessionResponseSchema.parse(opened.body).csrfToken,
    };
    const view = await page(server, '/v1/me', session);
    const shown = consentPageResponseSchema.parse(view.body);
    expect(shown.device.id).toBe(deviceId);
    expect(shown.policy?.scopes[0]).toEqual({
      scope: 'activity',
      purpose: 'Time per application',
      retentionDays: 30,
    });

    const granted = await page(server, '/v1/me/consent', session, {
      scope: 'activity',
      action: 'grant',
      policyVersion: 1,
    });
    expect(granted.status).toBe(200);
    expect(consentPageChangeResponseSchema.parse(granted.body).receipt.record.purposes).toEqual([
      {
        scope: 'activity',
        purpose: 'Time per application',
        legalBasis: 'consent',
        retentionDays: 30,
      },
    ]);
    await waitFor(() => running, 'the collector to start on the pushed grant');
    expect(agent.status().consent).toMatchObject({ status: 'granted', scopes: ['activity'] });

    const withdrawn = await page(server, '/v1/me/consent', session, {
      scope: 'activity',
      action: 'withdraw',
      policyVersion: 1,
    });
    expect(withdrawn.status).toBe(200);
    // No flush or heartbeat runs here: only the pushed consent.withdrawn command can stop it.
    await waitFor(() => !running, 'the collector to stop on the pushed withdrawal', 2_000);
    await waitFor(() => agent.status().consent.status === 'withdrawn', 'withdrawn');
    expect(agent.status().collectors['app-activity']).toBe('stopped');
    expect(agent.track('activity.app.launched', { app: 'after-withdrawal' })).toMatchObject({
      status: 'refused',
      reason: 'no_consent',
    });

    // The link opened once; a second exchange is refused.
    const reused = await page(server, '/v1/consent-link/session', {}, { token });
    expect(reused.status).toBe(401);
    expect(errorBodySchema.parse(reused.body).error.code).toBe('link_used');
  });

  it('refuses a lifetime beyond one hour with invalid_options', async () => {
    const server = await startBackend();
    cleanups.push(() => server.stop());
    const stateDir = tempStateDir();
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const agent = await createAgent({ stateDir, retry: FAST_RETRY });
    cleanups.push(() => agent.shutdown({ timeoutMs: 500 }).then(() => undefined));
    await agent.enroll({ serverUrl: server.url, installToken: await server.installToken() });
    let thrown: unknown;
    try {
      agent.createConsentLink({ ttlMs: 3_600_001 });
    } catch (error) {
      thrown = error;
    }
    expect(isAgentError(thrown) && thrown.code).toBe('invalid_options');
    const hour = agent.createConsentLink({ ttlMs: 3_600_000 });
    expect(Date.parse(hour.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
  });
});
