// `fieldline-agent consent`, the built CLI as a child process against a real reference server in
// this process: the link it prints opens the device's consent page once, and a withdrawal made
// there is what the agent's next answer carries.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../src/cli/parse-agent-args.js';
import {
  type Backend,
  removeDir,
  requireBuiltCli,
  runCli,
  startBackend,
  tempDir,
} from './support.js';

describe('fieldline-agent consent arguments', () => {
  it('takes --open and --ttl-minutes 1 to 60, for consent only', () => {
    expect(parseAgentArgs(['consent', '--state-dir', 'd'])).toEqual({
      kind: 'consent',
      stateDir: 'd',
      open: false,
    });
    expect(
      parseAgentArgs(['consent', '--state-dir', 'd', '--open', '--ttl-minutes', '60']),
    ).toEqual({ kind: 'consent', stateDir: 'd', open: true, ttlMinutes: 60 });
    for (const bad of [
      ['consent', '--state-dir', 'd', '--ttl-minutes', '0'],
      ['consent', '--state-dir', 'd', '--ttl-minutes', '61'],
      ['consent', '--state-dir', 'd', '--ttl-minutes', '5.5'],
      ['consent', '--state-dir', 'd', '--ttl-minutes', '010'],
      ['consent', '--state-dir', 'd', 'extra'],
      ['consent'],
      ['status', '--state-dir', 'd', '--open'],
    ]) {
      expect(parseAgentArgs(bad).kind, bad.join(' ')).toBe('usage-error');
    }
  });
});

describe('fieldline-agent consent against a reference server', () => {
  let backend: Backend;
  let serverDir: string;
  let stateDir: string;
  let deviceId: string;

  beforeAll(async () => {
    requireBuiltCli();
    serverDir = tempDir('fl-ref-agent-consent-server-');
    stateDir = tempDir('fl-ref-agent-consent-state-');
    backend = await startBackend({ dataDir: serverDir });
    await backend.publishPolicy();
    const enrolled = await runCli([
      'enroll',
      '--server',
      backend.url,
      '--token',
      await backend.installToken(),
      '--state-dir',
      stateDir,
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    deviceId = /device id:\s+(\S+)/.exec(enrolled.stdout)?.[1] as string;
  }, 60_000);
  afterAll(async () => {
    await backend?.stop().catch(() => undefined);
    removeDir(serverDir);
    removeDir(stateDir);
  });

  it('prints the link even where no browser can be opened', async () => {
    const bin = tempDir('fl-ref-agent-consent-nobin-');
    try {
      const run = await runCli(['consent', '--state-dir', stateDir, '--open'], 30_000, {
        ...process.env,
        PATH: bin,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/\/console\/consent#t=/);
    } finally {
      removeDir(bin);
    }
  });

  it('refuses a state directory that is not enrolled (exit 1)', async () => {
    const empty = tempDir('fl-ref-agent-consent-empty-');
    try {
      const run = await runCli(['consent', '--state-dir', empty]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('not enrolled');
    } finally {
      removeDir(empty);
    }
  });

  it('prints a link the server accepts once; a withdrawal on the page reaches the agent', async () => {
    await backend.grant(deviceId);
    // --open hands the URL to xdg-open: a stand-in first on PATH records what it was given, so
    // no real browser starts on a developer's desktop.
    const bin = tempDir('fl-ref-agent-consent-bin-');
    const opened = join(bin, 'opened.txt');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
    chmodSync(join(bin, 'xdg-open'), 0o755);
    const run = await runCli(
      ['consent', '--state-dir', stateDir, '--open', '--ttl-minutes', '5'],
      30_000,
      { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    );
    expect(run.code, run.stderr).toBe(0);
    const url = run.stdout.trim();
    await expect.poll(() => readFileSync(opened, 'utf8').toString(), { timeout: 5_000 }).toBe(url);
    removeDir(bin);
    expect(url).toMatch(
      new RegExp(`^${backend.url}/console/consent#t=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{86}$`),
    );
    expect(run.stderr).toContain(deviceId);
    const token = new URL(url).hash.slice('#t='.length);

    const exchange = () =>
      fetch(`${backend.url}/v1/consent-link/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
    const session = await exchange();
    expect(session.status).toBe(200);
    const { csrfToken, expiresAt } = (await session.json()) as {
      csrfToken: string;
      expiresAt: string;
    };
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const me = await fetch(`${backend.url}/v1/me`, { headers: { cookie } });
    expect(((await me.json()) as { device: { id: string } }).device.id).toBe(deviceId);
    expect((await exchange()).status).toBe(401);

    const withdrawn = await fetch(`${backend.url}/v1/me/consent`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-fieldline-csrf': csrfToken },
      body: JSON.stringify({ scope: 'activity', action: 'withdraw', policyVersion: 1 }),
    });
    expect(withdrawn.status).toBe(200);
    const refused = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      '{"app":"calculator"}',
      '--state-dir',
      stateDir,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no_consent');
    const status = await runCli(['status', '--json', '--state-dir', stateDir]);
    expect(JSON.parse(status.stdout).consent).toMatchObject({
      status: 'granted',
      scopes: ['network'],
    });
  });
});
