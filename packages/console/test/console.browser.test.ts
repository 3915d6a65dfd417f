// The console in a real browser (Debian's Chromium driven by playwright-core) against a real
// reference server on PGlite: first-run setup, the live device list, and the employee's consent
// page opened from a device-signed link.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consentLinkUrl, createConsentLinkToken } from '@fieldline/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../reference-server/src/index.js';
import { captureLogger } from '../../reference-server/test/support/capture-logger.js';
import { ADMIN_TOKEN } from '../../reference-server/test/support/cluster.js';
import {
  enrollOutageDevice,
  type OutageDevice,
  type OutageSocket,
} from '../../reference-server/test/support/outage.js';

const CHROMIUM = process.env.FIELDLINE_CHROMIUM ?? '/usr/bin/chromium';
const ASSETS = fileURLToPath(new URL('../dist/app', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('../screenshots', import.meta.url));
const OWNER = { email: 'owner@example.com', password: 'correct horse battery staple' };

describe('the console in Chromium', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let device: OutageDevice;
  const sockets: OutageSocket[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // Never skipped: a machine without the browser fails with what to install.
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (or set FIELDLINE_CHROMIUM).`,
      );
    }
    if (!existsSync(join(ASSETS, 'index.html'))) {
      throw new Error('The console is not built: run `npm run build` first.');
    }
    dataDir = await mkdtemp(join(tmpdir(), 'fieldline-console-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    server = await startServer({
      port: 0,
      dataDir,
      adminToken: ADMIN_TOKEN,
      logger: captureLogger('warn').logger,
      retentionIntervalMs: 0,
      consoleAssetsDir: ASSETS,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  });

  afterAll(async () => {
    for (const { socket } of sockets) socket.close();
    await browser?.close();
    await server?.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  async function openPage(url: string): Promise<Page> {
    const page = await browser.newPage();
    // A CSP violation or a script error is a failure, whatever the page shows.
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().includes('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
    await page.goto(url);
    return page;
  }

  it('creates the owner from the first-run link and shows an enrolled device going online', async () => {
    const setup = await server.issueSetupLink();
    expect(setup?.url).toMatch(/\/console\/setup#token=/);
    const page = await openPage(setup?.url ?? '');
    await page.getByRole('heading', { name: 'Set up Fieldline' }).waitFor();
    // The token left the address bar as soon as it was read.
    expect(new URL(page.url()).hash).toBe('');
    await page.getByLabel('E-mail').fill(OWNER.email);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.screenshot({ path: join(SCREENSHOTS, 'setup.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create owner account' }).click();

    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/devices');
    await page.getByText('No device enrolled yet.').waitFor();
    await page.getByText('· live').waitFor();

    // The install-token button issues a token and shows the enroll command with it.
    await page.getByRole('button', { name: 'Create install token' }).click();
    const token = await page.getByLabel('Install token').inputValue();
    expect(token.length).toBeGreaterThan(16);
    expect(await page.getByLabel('Run on the device').inputValue()).toContain(
      `--server ${server.url} --token ${token}`,
    );

    // A device enrolls over HTTP, then opens its socket: the list shows it online, live.
    device = await enrollOutageDevice(server.url);
    sockets.push(await device.hello());
    const row = page.getByRole('row').filter({ hasText: device.deviceId });
    await row.locator('[data-device-status="online"]').waitFor({ timeout: 10_000 });
    await page.getByLabel('Filter devices').fill('no-such-host');
    await page.getByText('No device matches the filter.').waitFor();
    await page.getByLabel('Filter devices').fill('outage');
    await row.waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'devices.png'), fullPage: true });

    // A reload keeps the session; signing out ends it.
    await page.reload();
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Fieldline' }).waitFor();
    const session = await page.evaluate(async () => (await fetch('/v1/auth/session')).status);
    expect(session).toBe(401);

    // And the same person signs in again.
    await page.getByLabel('E-mail').fill(OWNER.email);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('row').filter({ hasText: device.deviceId }).waitFor();
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  it('lets the employee grant a scope from a device-signed link and shows the receipt', async () => {
    const policy = await fetch(`${server.url}/v1/admin/policies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tenant: 'default',
        version: 1,
        scopes: ['activity'],
        text: 'We record which applications you use and for how long, to plan licences.',
        summary: 'Application use, to plan licences.',
        purposes: {
          activity: {
            purpose: 'To plan software licences.',
            collects: 'Names of the applications you use, and for how long.',
            retentionDays: 30,
          },
        },
      }),
    });
    expect(policy.status).toBe(201);
    const link = createConsentLinkToken({ deviceId: device.deviceId }, device.identity);
    const page = await openPage(consentLinkUrl(server.url, link.token));
    await page.getByRole('heading', { name: 'Your privacy choices' }).waitFor();
    await page.getByRole('heading', { name: 'activity' }).waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await page.getByText('Names of the applications you use, and for how long.').waitFor();
    await page.getByText('Waiting for your answer.').waitFor();

    await page.getByRole('button', { name: 'Allow activity' }).click();
    const receipt = page.getByRole('region', { name: 'Your receipt' });
    await receipt.waitFor();
    await page.getByText('You allowed this.').waitFor();
    expect(await receipt.textContent()).toContain('activity');
    await page.getByRole('button', { name: 'Withdraw consent for activity' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'consent.png'), fullPage: true });

    // The server holds the grant, not just the page: a fresh read of the session's page says so.
    const stored = await page.evaluate(async () => {
      const answer = (await (await fetch('/v1/me')).json()) as {
        scopes: { scope: string; status: string }[];
      };
      return answer.scopes;
    });
    expect(stored).toEqual([{ scope: 'activity', status: 'granted' }]);
    await page.close();
    expect(pageErrors).toEqual([]);
  });
});
