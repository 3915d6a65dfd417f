// `fieldline-agent enroll --tls-pin … --tls-ca …` against a reference server serving HTTPS from
// throwaway openssl certificates: a wrong pin is refused with its code, the right pins (with
// a backup) enroll, and a later one-shot command uses the kept pins without being told again.
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHttpTransport } from '@fieldline/agent-sdk';
import { spkiPinOf } from '@fieldline/core';
import { createLogger, type RunningServer, startServer } from '@fieldline/reference-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, removeDir, requireBuiltCli, runCli, tempDir } from './support.js';

describe('fieldline-agent over HTTPS with SPKI pins', () => {
  let dir: string;
  let server: RunningServer;
  let admin: (path: string, body?: unknown) => Promise<{ status: number; body: any }>;
  let unusedPin: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = tempDir('fl-ref-agent-tls-');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'server.key',
        '-out',
        'server.pem',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'backup.key'],
      { cwd: dir, stdio: 'ignore' },
    );
    unusedPin = spkiPinOf(
      createPublicKey(readFileSync(join(dir, 'backup.key'))).export({
        type: 'spki',
        format: 'der',
      }),
    );
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'server'),
      adminToken: ADMIN_TOKEN,
      logger: createLogger({ level: 'silent' }),
      tls: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') },
    });
    const transport = createHttpTransport({
      tls: { ca: readFileSync(join(dir, 'server.pem'), 'utf8') },
    });
    admin = async (path, body) => {
      const response = await transport.request({
        method: body === undefined ? 'GET' : 'POST',
        url: `${server.url}${path}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: response.body as any };
    };
    await admin('/v1/admin/policies', {
      tenant: 'acme',
      version: 1,
      scopes: ['activity', 'network'],
      text: 'Policy.',
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (dir !== undefined) removeDir(dir);
  });

  it('refuses a wrong pin, enrolls with the right one and a backup, and keeps them for later commands', async () => {
    const stateDir = join(dir, 'agent');
    const ca = join(dir, 'server.pem');
    const serverPin = server.tls?.spkiPin as string;
    const token = (await admin('/v1/admin/install-tokens', { tenant: 'acme' })).body.token;

    const refused = await runCli([
      'enroll',
      '--server',
      server.url,
      '--token',
      token,
      '--state-dir',
      stateDir,
      '--tls-ca',
      ca,
      '--tls-pin',
      unusedPin,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/matches none of the 1 pinned key.*\[tls_pin_mismatch\]/s);
    expect(refused.stderr).toContain(serverPin);
    expect(refused.stderr).toMatch(/no backup/);

    const enrolled = await runCli([
      'enroll',
      '--server',
      server.url,
      '--token',
      token,
      '--state-dir',
      stateDir,
      '--tls-ca',
      ca,
      '--tls-pin',
      unusedPin,
      '--tls-pin',
      serverPin,
    ]);
    expect(enrolled.stderr).not.toMatch(/no backup/);
    expect(enrolled.code).toBe(0);
    expect(existsSync(join(stateDir, 'tls.json'))).toBe(true);
    const deviceId = /device id: (\S+)/.exec(enrolled.stdout)?.[1] as string;
    await admin(`/v1/admin/devices/${deviceId}/consent`, { action: 'grant' });

    const tracked = await runCli([
      'track',
      'activity.app.launched',
      '--data',
      '{"app":"cli-over-tls"}',
      '--state-dir',
      stateDir,
    ]);
    expect(tracked.code).toBe(0);
    const events = await admin(`/v1/admin/devices/${deviceId}/events?limit=10`);
    expect(JSON.stringify(events.body)).toContain('cli-over-tls');
  }, 60_000);

  it('refuses --tls-pin that is not a pin, and pins on a plain http server (exit 2)', async () => {
    const malformed = await runCli([
      'enroll',
      '--server',
      server.url,
      '--token',
      't',
      '--state-dir',
      join(dir, 'x'),
      '--tls-pin',
      'sha1/abc',
    ]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--tls-pin must be sha256\/<base64 of 32 bytes>/);
    const plain = await runCli([
      'enroll',
      '--server',
      'http://127.0.0.1:1',
      '--token',
      't',
      '--state-dir',
      join(dir, 'y'),
      '--tls-pin',
      unusedPin,
    ]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/need an https:\/\/ --server/);
  });
});
